package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/inkwell-dev/inkwell/internal/migrate"
)

// server makes databases for the runs: each a copy of a migrated template.
type server struct {
	admin      string // a superuser's URL
	poolSize   int
	proxy      *latencyProxy // nil: peers connect straight to the server
	syncCommit string        // synchronous_commit of the databases fresh makes
	runs       atomic.Int64  // databases made for runs: each its own name, so that runs may overlap (the smoke test's do)
}

// viaProxy returns u with its host and port the proxy's, if there is one.
func (s *server) viaProxy(u string) (string, error) {
	if s.proxy == nil {
		return u, nil
	}
	pu, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	q := pu.Query()
	q.Del("host") // a socket directory given as a parameter
	q.Del("port")
	pu.RawQuery = q.Encode()
	pu.Host = s.proxy.addr()
	return pu.String(), nil
}

// serverAddr is where the admin URL leads, for the proxy to dial.
func (s *server) serverAddr() (network, addr string, err error) {
	cfg, err := pgx.ParseConfig(s.admin)
	if err != nil {
		return "", "", err
	}
	if strings.HasPrefix(cfg.Host, "/") {
		return "unix", fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port), nil
	}
	return "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), nil
}

const template = "inkwell_bench_template"

func (s *server) exec(ctx context.Context, stmts ...string) error {
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, stmt := range stmts {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

func (s *server) urlOf(name string) (string, error) {
	u, err := url.Parse(s.admin)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// prepare makes the template: a database migrated with inkwell's migrations.
func (s *server) prepare(ctx context.Context) error {
	ident := pgx.Identifier{template}.Sanitize()
	if err := s.exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)", "CREATE DATABASE "+ident); err != nil {
		return err
	}
	u, err := s.urlOf(template)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = migrate.UpPool(ctx, pool)
	return err
}

// fresh returns a new database copied from the template; drop removes it.
func (s *server) fresh(ctx context.Context, name string) (*database, error) {
	ident := pgx.Identifier{name}.Sanitize()
	if err := s.exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)",
		"CREATE DATABASE "+ident+" TEMPLATE "+pgx.Identifier{template}.Sanitize(),
		// Every session of every peer (SQLAlchemy's process too) gets it.
		"ALTER DATABASE "+ident+" SET synchronous_commit = '"+s.syncCommit+"'"); err != nil { // checked by main
		return nil, err
	}
	u, err := s.urlOf(name)
	if err != nil {
		return nil, err
	}
	peers, err := s.viaProxy(u)
	if err != nil {
		return nil, err
	}
	return &database{url: peers, direct: u, name: name, poolSize: s.poolSize, counter: &counter{}, proxy: s.proxy}, nil
}

func (s *server) drop(ctx context.Context, db *database) error {
	return s.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db.name}.Sanitize()+" WITH (FORCE)")
}

// database is one database of a run, with the statement counter every
// peer's connections report to.
type database struct {
	url, name string // url: the peers', through the proxy if there is one
	direct    string // straight to the server, for seeding
	poolSize  int
	counter   *counter
	proxy     *latencyProxy
}

// roundTrips is the count measure takes differences of: the proxy's round
// trips on the wire when there is a proxy, else the statements the tracer saw.
func (d *database) roundTrips() int64 {
	if d.proxy != nil {
		return d.proxy.trips.Load()
	}
	return d.counter.n.Load()
}

// pgxPool is a pgx pool of the run's size, counted, with a connection open:
// every peer connects before it is timed (as GORM does on Open, and
// SQLAlchemy's process before its loop), so that no peer's time holds the
// start of a connection.
func (d *database) pgxPool(ctx context.Context) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(d.url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(d.poolSize)
	cfg.ConnConfig.Tracer = d.counter
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		if err = pool.Ping(ctx); err != nil {
			pool.Close()
		}
	}
	return pool, err
}

// sqlDB is a database/sql pool on pgx's driver, of the same size, counted.
// mode is pgx's query mode: its statement cache, or for a layer that inlines
// arguments into the SQL (bun), plain one-round-trip execution, since every
// statement text is new and caching them would cost a Prepare each. Like
// pgxPool, it has a connection open.
func (d *database) sqlDB(ctx context.Context, mode pgx.QueryExecMode) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(d.url)
	if err != nil {
		return nil, err
	}
	cfg.Tracer = d.counter
	cfg.DefaultQueryExecMode = mode
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(d.poolSize)
	db.SetMaxIdleConns(d.poolSize)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// counter counts the statements, COPYs and batches sent: each is at least
// one round trip; a batch's statements travel together, one round trip.
type counter struct{ n atomic.Int64 }

func (c *counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *counter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *counter) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *counter) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}
func (c *counter) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *counter) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// seedForReads fills a database for the single-row and list operations:
// users with two addresses (and their email_owners rows, as inkwell writes
// them) and two posts each.
func seedForReads(ctx context.Context, db *database, users int) error {
	conn, err := pgx.Connect(ctx, db.direct)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "INSERT INTO users (name, age) SELECT 'Reader ' || g, 18 + g % 70 FROM generate_series(1, $1) g", users); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `
		INSERT INTO addresses (user_id, email) SELECT id, 'r' || id || '@example.com' FROM users;
		INSERT INTO addresses (user_id, email) SELECT id, 'r' || id || '@work.example' FROM users;
		INSERT INTO email_owners (email_key, user_id, address_id) SELECT email_key(email), user_id, id FROM addresses;
		INSERT INTO posts (user_id, title, content) SELECT id, 'First', 'Hello' FROM users;
		INSERT INTO posts (user_id, title, content) SELECT id, 'Second', 'Again' FROM users;
		ANALYZE`)
	return err
}
