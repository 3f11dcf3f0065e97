package repo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// Repo runs queries on a pool, or, inside InTx, on one transaction.
// It is safe for concurrent use, except a transaction's Repo, which belongs
// to the function InTx handed it to.
type Repo struct {
	pool     *pgxpool.Pool  // nil inside a transaction
	tx       pgx.Tx         // nil outside one
	replicas *replicaSet    // nil without WithReplicas
	q        *dbgen.Queries // the pool's queries, made once (nil inside a transaction): a call allocates none
	server   *server        // what it learned of the database; its transactions' Repos share it
	tel      *telemetry     // the pool's tracing (PoolConfig.TracerProvider), nil without; its transactions' Repos share it
	// No query handle: methods get their queries from reading, writing or
	// inTx, which route them (route.go).
}

// New returns a Repo on pool, the primary. The caller keeps ownership of the
// pool (and of any replica pools).
func New(pool *pgxpool.Pool, opts ...Option) *Repo {
	r := onPool(pool)
	for _, o := range opts {
		o(r)
	}
	return r
}

// onPool is a Repo on pool, outside any transaction.
func onPool(pool *pgxpool.Pool) *Repo {
	return &Repo{pool: pool, q: newQueries(pool), server: &server{}, tel: telemetryOf(pool)}
}

// PoolConfig sizes the connection pool; zero values keep pgx's defaults, or
// what the URL says (pool_max_conns, pool_min_conns).
// It answers SQLAlchemy's create_engine(pool_size=..., max_overflow=...):
// pgx has no overflow, so MaxConns is the hard limit.
type PoolConfig struct {
	MaxConns        int32         // most connections open at once (pgx default: max(4, CPUs))
	MinConns        int32         // connections kept open even when idle; at most MaxConns (or its default)
	MaxConnLifetime time.Duration // close connections older than this
	MaxConnIdleTime time.Duration // close connections idle longer than this
	// Pooler says the URL leads to PgBouncer in transaction pooling mode (or a
	// pooler like it), which hands each transaction any server connection: the
	// pool then sends no named prepared statements, caching only statement
	// descriptions (pgx's QueryExecModeCacheDescribe), still one round trip a
	// query. Equivalent to default_query_exec_mode=cache_describe in the URL.
	// Run migrations on a direct URL: their lock is held by a session.
	Pooler bool
	// Logger, if set, logs every statement (see LogOptions), with Log's options.
	Logger *slog.Logger
	Log    LogOptions
	// TracerProvider, if set, traces every statement, batch, COPY and
	// transaction as OpenTelemetry spans: named by the sqlc query (GetUser),
	// with the database's attributes (db.system.name, db.namespace,
	// server.address, ...), never the arguments; see README, "Tracing".
	// It runs beside Logger. A Repo made with New on the pool traces its
	// transactions (InTx) as the parents of their statements.
	TracerProvider trace.TracerProvider
	// MeterProvider, if set, observes the pool (pgxpool.Stat) as
	// OpenTelemetry metrics: connections acquired, idle, total; acquires,
	// those that waited, and the time spent acquiring. A pool closed and
	// no longer referenced leaves it (its callback is unregistered).
	MeterProvider metric.MeterProvider
}

// singleLine shows an error on one line: pgx lists each address it tried
// on lines of their own, and a command's error should be one line. An
// attempt that failed as one before is said once: with sslmode=prefer (the
// default) pgx dials each address twice, with TLS and without.
type singleLine struct{ err error }

func (e singleLine) Error() string {
	var lines []string
	for line := range strings.Lines(e.err.Error()) {
		if line = strings.Join(strings.Fields(line), " "); line != "" && !slices.Contains(lines, line) {
			lines = append(lines, line)
		}
	}
	if len(lines) < 2 {
		return strings.Join(lines, "")
	}
	return lines[0] + " " + strings.Join(lines[1:], "; ")
}
func (e singleLine) Unwrap() error { return e.err }

// Stats describes a Repo's pools, for dashboards and health endpoints.
type Stats struct {
	Primary  PoolStats
	Replicas []PoolStats // in the order given to WithReplicas
}

// PoolStats is a snapshot of one connection pool.
type PoolStats struct {
	MaxConns       int32
	TotalConns     int32 // open connections, idle or in use
	IdleConns      int32
	AcquiredConns  int32
	AcquireCount   int64         // connections handed out so far
	AcquireWait    time.Duration // total time callers waited for a connection
	EmptyAcquires  int64         // acquires that had to wait or open a connection
	CanceledWaits  int64         // acquires given up (context ended) while waiting
	NewConnections int64
}

func poolStats(p *pgxpool.Pool) PoolStats {
	s := p.Stat()
	return PoolStats{
		MaxConns: s.MaxConns(), TotalConns: s.TotalConns(), IdleConns: s.IdleConns(),
		AcquiredConns: s.AcquiredConns(), AcquireCount: s.AcquireCount(), AcquireWait: s.AcquireDuration(),
		EmptyAcquires: s.EmptyAcquireCount(), CanceledWaits: s.CanceledAcquireCount(), NewConnections: s.NewConnsCount(),
	}
}

// Stats returns the state of the Repo's pools. Inside a transaction it is empty.
func (r *Repo) Stats() Stats {
	var s Stats
	if r.pool == nil {
		return s
	}
	s.Primary = poolStats(r.pool)
	if r.replicas != nil {
		for _, rep := range r.replicas.replicas {
			s.Replicas = append(s.Replicas, poolStats(rep.pool))
		}
	}
	return s
}

// DefaultConnectTimeout bounds connecting when the URL sets no
// connect_timeout: without one, a dial to an unreachable host waits as long
// as the operating system does (minutes).
const DefaultConnectTimeout = 10 * time.Second

// OpenPool connects to the database at url (a postgres:// URL or key=value
// string) and checks that the server answers. Its errors never contain the
// password, nor any part of a url that does not parse.
//
// Errors: ErrInvalid for a url that does not parse (see CheckURL) or pool
// sizes that do not fit (negative, or MinConns above MaxConns, where a zero
// MaxConns means pgx's default, max(4, CPUs), or the url's pool_max_conns);
// ErrUnavailable when the server cannot be reached.
func OpenPool(ctx context.Context, url string, cfg PoolConfig) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, urlError(err)
	}
	maxConns, minConns := pc.MaxConns, pc.MinConns // pgx's defaults or the url's
	if cfg.MaxConns > 0 {
		maxConns = cfg.MaxConns
	}
	if cfg.MinConns > 0 {
		minConns = cfg.MinConns
	}
	if cfg.MaxConns < 0 || cfg.MinConns < 0 || minConns > maxConns {
		which := ""
		if cfg.MaxConns == 0 {
			which = " (the default)"
		}
		return nil, fmt.Errorf("%w: pool size: MinConns %d, MaxConns %d%s: want 0 <= MinConns <= MaxConns",
			ErrInvalid, minConns, maxConns, which)
	}
	pc.MaxConns, pc.MinConns = maxConns, minConns
	if cfg.Pooler {
		pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	}
	pc.ConnConfig.Tracer = tracing(cfg, pc.ConnConfig)
	// When a context ends mid-query, ask the server to cancel the query at
	// once, so that it stops working too; if the server does not answer
	// within a second (a dead network), drop the connection.
	pc.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
	}
	boundConnect(pc.ConnConfig)
	// TCP keepalives find a peer that vanished (pulled cable, crashed host)
	// on an idle connection; Go's dialer sends them every 15 s by default.
	// A query in flight is bounded by its context, not by keepalives.
	if cfg.MaxConnLifetime > 0 {
		pc.MaxConnLifetime = cfg.MaxConnLifetime
	}
	if cfg.MaxConnIdleTime > 0 {
		pc.MaxConnIdleTime = cfg.MaxConnIdleTime
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, connectError(ctx, pc.ConnConfig, err)
	}
	// After the ping: a pool that failed to open registers no callback
	// with the MeterProvider.
	if cfg.MeterProvider != nil {
		if err := observePool(cfg.MeterProvider, pool, pc.ConnConfig); err != nil {
			pool.Close()
			return nil, fmt.Errorf("open pool: metrics: %w", err)
		}
	}
	return pool, nil
}

// Connect opens one connection to url, for a command's administrative
// statements, bounded as OpenPool's are: it gives up after
// DefaultConnectTimeout unless the url's connect_timeout says otherwise.
// Its errors never contain the password, nor any part of a url that does
// not parse.
//
// Errors: ErrInvalid for a url that does not parse (see CheckURL);
// ErrUnavailable when the server cannot be reached or does not answer in time.
func Connect(ctx context.Context, url string) (*pgx.Conn, error) {
	cc, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, urlError(err)
	}
	boundConnect(cc)
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, connectError(ctx, cc, err)
	}
	return conn, nil
}

// boundConnect applies DefaultConnectTimeout where the url sets no
// connect_timeout: the one place every connection of ours gets its bound.
func boundConnect(cc *pgx.ConnConfig) {
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = DefaultConnectTimeout
	}
}

// connectError says why connecting failed, on one line; a server that did
// not answer within the connect timeout (while ctx was live) is ErrUnavailable
// and the message says how long it waited.
func connectError(ctx context.Context, cc *pgx.ConnConfig, err error) error {
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: no answer within %v (connect_timeout): %w", ErrUnavailable, cc.ConnectTimeout, err)
	} else {
		err = dbError(ctx, err)
	}
	return fmt.Errorf("connect: %w", singleLine{err})
}
