package repo_test

import (
	"context"
	"iter"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// secret is the distinctive value every traced call of TestTracing passes
// (a name, an email, a title, a bad integer): no span may show it.
const secret = "Zq7731secret"

// traced opens a pool on e's database with tracing and the query log on,
// and returns its Repo and what it records.
func traced(t *testing.T, e env) (*repo.Repo, *pgxpool.Pool, *tracetest.SpanRecorder, *logBuffer) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	logs := &logBuffer{}
	pool, err := repo.OpenPool(e.ctx, e.pool.Config().ConnString(), repo.PoolConfig{
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)),
		Logger:         slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return repo.New(pool), pool, rec, logs
}

// spanSet is the spans recorded, to look them up by name and parent.
type spanSet []sdktrace.ReadOnlySpan

// named returns the spans called name, failing when there are none.
func (s spanSet) named(t *testing.T, name string) []sdktrace.ReadOnlySpan {
	t.Helper()
	var out []sdktrace.ReadOnlySpan
	for _, sp := range s {
		if sp.Name() == name {
			out = append(out, sp)
		}
	}
	require.NotEmpty(t, out, "no span %q among %v", name, s.names())
	return out
}

func (s spanSet) names() []string {
	var out []string
	for _, sp := range s {
		out = append(out, sp.Name())
	}
	return out
}

// parent is sp's parent among the recorded spans, nil at the root.
func (s spanSet) parent(sp sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	for _, p := range s {
		if p.SpanContext().SpanID() == sp.Parent().SpanID() && sp.Parent().IsValid() {
			return p
		}
	}
	return nil
}

// ancestor is sp's nearest ancestor called name, nil if none.
func (s spanSet) ancestor(sp sdktrace.ReadOnlySpan, name string) sdktrace.ReadOnlySpan {
	for p := s.parent(sp); p != nil; p = s.parent(p) {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

func (s spanSet) children(sp sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, c := range s {
		if c.Parent().SpanID() == sp.SpanContext().SpanID() {
			out = append(out, c.Name())
		}
	}
	return out
}

func attrs(sp sdktrace.ReadOnlySpan) map[string]string {
	out := map[string]string{}
	for _, a := range sp.Attributes() {
		out[string(a.Key)] = a.Value.String()
	}
	return out
}

// everything is every text a span shows an exporter: name, attributes,
// events, links, status.
func everything(sp sdktrace.ReadOnlySpan) []string {
	out := []string{sp.Name(), sp.Status().Description}
	kv := func(list []attribute.KeyValue) {
		for _, a := range list {
			out = append(out, string(a.Key), a.Value.String())
		}
	}
	kv(sp.Attributes())
	for _, ev := range sp.Events() {
		out = append(out, ev.Name)
		kv(ev.Attributes)
	}
	for _, l := range sp.Links() {
		kv(l.Attributes)
	}
	kv(sp.Resource().Attributes())
	return out
}

func TestTracing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r, pool, rec, logs := traced(t, e)
	ctx := e.ctx
	database := pool.Config().ConnConfig.Database

	// Into the empty tables: the initial load's COPYs go to pgconn directly.
	graph := repo.UserGraph{User: repo.NewUser{Name: secret, Age: 30}, Emails: []string{secret + "@example.com"},
		Posts: []repo.GraphPost{{Title: secret, Content: secret, Tags: []string{"otel"}}}}
	graphs := func(from, to int) iter.Seq2[repo.UserGraph, error] {
		return func(yield func(repo.UserGraph, error) bool) {
			for i := from; i < to; i++ {
				g := graph
				g.Emails = []string{secret + strings.Repeat("x", i) + "@example.com"}
				if !yield(g, nil) {
					return
				}
			}
		}
	}
	loaded, err := r.InitialLoadGraphs(ctx, graphs(0, 3), repo.InitialLoadOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 3, loaded.Users)
	_, err = r.BulkInsertGraphs(ctx, graphs(3, 5), repo.BulkOptions{})
	require.NoError(t, err)

	u, err := r.RegisterUser(ctx, repo.NewUser{Name: secret, Age: 40}, secret+"@mail.example.com")
	require.NoError(t, err)
	_, err = r.GetUser(ctx, u.ID)
	require.NoError(t, err)
	_, err = r.GetUserWithAddresses(ctx, u.ID, repo.SelectIn) // a pipeline
	require.NoError(t, err)
	err = r.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
		if _, err := tx.CreatePost(ctx, repo.NewPost{UserID: u.ID, Title: secret, Content: secret}); err != nil {
			return err
		}
		if _, err := tx.GetUser(ctx, u.ID); err != nil {
			return err
		}
		return tx.InTx(ctx, repo.TxOptions{}, func(nested *repo.Repo) error {
			_, err := nested.SetProfile(ctx, repo.Profile{UserID: u.ID, Bio: secret})
			return err
		})
	})
	require.NoError(t, err)
	// Failures: a taken email (the server's detail quotes it), and a value
	// the server quotes in its message.
	_, err = r.BulkInsertGraphs(ctx, graphs(4, 5), repo.BulkOptions{})
	require.ErrorIs(t, err, repo.ErrConflict)
	require.ErrorContains(t, err, strings.ToLower(secret), "the server's detail quotes the value")
	var conflict *pgconn.PgError // its table and SQLSTATE: on Citus a worker's, said otherwise
	require.ErrorAs(t, err, &conflict)
	_, err = pool.Exec(ctx, "SELECT $1::text::int", secret)
	require.ErrorContains(t, err, secret, "the server's message quotes the value")

	spans := spanSet(rec.Ended())
	t.Run("NoArgumentValue", func(t *testing.T) {
		for _, sp := range spans {
			for _, text := range everything(sp) {
				require.NotContains(t, strings.ToLower(text), strings.ToLower(secret), "span %q", sp.Name())
			}
		}
	})

	t.Run("StatementNamesAndAttributes", func(t *testing.T) {
		get := spans.named(t, "GetUser")[0]
		a := attrs(get)
		require.Equal(t, "postgresql", a["db.system.name"])
		require.Equal(t, database, a["db.namespace"])
		require.Equal(t, pool.Config().ConnConfig.Host, a["server.address"])
		require.NotEmpty(t, a["server.port"])
		require.Equal(t, "SELECT", a["db.operation.name"])
		require.Equal(t, "GetUser", a["db.query.summary"])
		require.Equal(t, "1", a["pgx.rows_affected"])
		require.Equal(t, codes.Unset, get.Status().Code)
		// The query log runs beside the spans.
		var logged []string
		for _, rec := range logs.records(t) {
			logged = append(logged, rec["name"].(string))
		}
		require.Contains(t, logged, "GetUser")
	})

	t.Run("TransactionIsParent", func(t *testing.T) {
		var outer, nested sdktrace.ReadOnlySpan
		for _, sp := range spans.named(t, "InTx") {
			if p := spans.parent(sp); p != nil && p.Name() == "InTx" {
				nested, outer = sp, p
			}
		}
		require.NotNil(t, nested, "a nested InTx's span is its transaction's child")
		// The first statement travels with BEGIN, in a batch.
		create := spans.named(t, "CreatePost")[0]
		require.Equal(t, "BATCH", spans.parent(create).Name())
		require.Equal(t, outer, spans.parent(spans.parent(create)))
		for _, sp := range spans.named(t, "GetUser") {
			if p := spans.parent(sp); p != nil && p.Name() == "InTx" {
				require.Equal(t, outer, p)
			}
		}
		require.Contains(t, spans.children(outer), "commit")
		setProfile := spans.named(t, "UpsertProfile")[0]
		require.Equal(t, nested, spans.ancestor(setProfile, "InTx"), "a savepoint's statements are its children")
		require.Equal(t, "1", attrs(outer)["inkwell.tx.attempts"])
	})

	t.Run("BatchHoldsItsStatements", func(t *testing.T) {
		for _, b := range spans.named(t, "BATCH") {
			children := spans.children(b)
			require.Equal(t, attrs(b)["db.operation.batch.size"], itoa(len(children)), "batch %v", children)
		}
		// The pipelined read: BEGIN, its two statements, COMMIT.
		var found bool
		for _, b := range spans.named(t, "BATCH") {
			if c := spans.children(b); slices.Contains(c, "GetUser") && slices.Contains(c, "ListAddressesByUserIDs") {
				found = true
			}
		}
		require.True(t, found, "the select-in read is one batch span: %v", spans.names())
	})

	t.Run("Copy", func(t *testing.T) {
		var initial, batched int
		for _, sp := range spans.named(t, "COPY users") {
			a := attrs(sp)
			require.Equal(t, "users", a["db.collection.name"])
			require.NotNil(t, spans.ancestor(sp, "InTx"))
			switch a["pgx.rows_affected"] {
			case "3":
				initial++
			case "2":
				batched++
			}
		}
		require.Equal(t, 1, initial, "the initial load's COPY of 3 users")
		require.Equal(t, 1, batched, "the batch's COPY of 2 users")
	})

	t.Run("ErrorsBySentinel", func(t *testing.T) {
		var kinds []string
		for _, sp := range spans {
			if sp.Status().Code == codes.Error {
				a := attrs(sp)
				kinds = append(kinds, sp.Name()+" "+a["error.type"]+" "+a["db.response.status_code"])
				require.Equal(t, a["error.type"], sp.Status().Description)
			}
		}
		copyFailed := slices.ContainsFunc(kinds, func(k string) bool {
			return strings.HasPrefix(k, "COPY ") && strings.HasSuffix(k, " ErrConflict "+conflict.Code)
		})
		require.True(t, copyFailed, "the COPY that failed: %v", kinds)
		require.Contains(t, kinds, "InTx ErrConflict "+conflict.Code, "the transaction's span says how it ended")
		require.Contains(t, kinds, "SELECT ErrInvalid 22P02")
	})
}

func itoa(n int) string { return attribute.IntValue(n).String() }

func TestPoolMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reader := sdkmetric.NewManualReader()
	pool, err := repo.OpenPool(e.ctx, e.pool.Config().ConnString(), repo.PoolConfig{
		MaxConns: 1, MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	collect := func() map[string]int64 {
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(e.ctx, &rm))
		out := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case metricdata.Sum[int64]:
					require.Len(t, d.DataPoints, 1, m.Name)
					v, _ := d.DataPoints[0].Attributes.Value("db.system.name")
					require.Equal(t, "postgresql", v.AsString())
					out[m.Name] = d.DataPoints[0].Value
				default:
					t.Fatalf("%s: %T", m.Name, m.Data)
				}
			}
		}
		return out
	}
	conn, err := pool.Acquire(e.ctx)
	require.NoError(t, err)
	// The one connection is held: an acquire waits until its context ends.
	waitCtx, cancel := context.WithTimeout(e.ctx, 50*time.Millisecond)
	defer cancel()
	_, err = pool.Acquire(waitCtx)
	require.Error(t, err)
	held := collect()
	conn.Release()
	s := pool.Stat()
	require.Equal(t, map[string]int64{
		"pgxpool.acquired_connections": 1, "pgxpool.idle_connections": 0, "pgxpool.total_connections": 1,
		"pgxpool.max_connections": 1, "pgxpool.acquires": s.AcquireCount(), "pgxpool.empty_acquire": s.EmptyAcquireCount(),
		"pgxpool.canceled_acquires": 1, "pgxpool.acquire_duration": s.AcquireDuration().Nanoseconds(),
		"pgxpool.empty_acquire_wait_time": s.EmptyAcquireWaitTime().Nanoseconds(), "pgxpool.new_connections": 1,
	}, held)
	released := collect()
	require.EqualValues(t, 0, released["pgxpool.acquired_connections"])
	require.EqualValues(t, 1, released["pgxpool.idle_connections"])
}

// TestPoolMetricsOfAClosedPool: a pool closed and dropped is freed, and its
// instruments leave the MeterProvider, which outlives it: an application
// that opens and closes pools (per tenant, per test) does not keep them all.
func TestPoolMetricsOfAClosedPool(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reader := sdkmetric.NewManualReader()
	mp := unregisterCounter{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)), n: &atomic.Int32{}}
	points := func() int {
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(e.ctx, &rm))
		n := 0
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if d, ok := m.Data.(metricdata.Sum[int64]); ok {
					n += len(d.DataPoints)
				}
			}
		}
		return n
	}
	freed := make(chan struct{})
	func() {
		pool, err := repo.OpenPool(e.ctx, e.pool.Config().ConnString(), repo.PoolConfig{MaxConns: 1, MeterProvider: mp})
		require.NoError(t, err)
		require.NoError(t, pool.Ping(e.ctx))
		require.Positive(t, points(), "the open pool's instruments")
		runtime.AddCleanup(pool, func(ch chan struct{}) { close(ch) }, freed)
		pool.Close()
	}()
	deadline := time.After(10 * time.Second)
	for done := false; !done; {
		runtime.GC()
		select {
		case <-freed:
			done = true
		case <-deadline:
			t.Fatal("a closed and dropped pool was not freed: something (its metrics callback?) still holds it")
		case <-time.After(10 * time.Millisecond):
		}
	}
	require.Zero(t, points(), "the freed pool's instruments still report")
	// The unregistering cleanup runs on a goroutine of its own, like the one above.
	require.Eventually(t, func() bool { return mp.n.Load() == 1 }, 10*time.Second, 10*time.Millisecond,
		"the freed pool's callback is still registered")
}

// unregisterCounter is a MeterProvider that counts the callbacks
// unregistered from its meters.
type unregisterCounter struct {
	metric.MeterProvider
	n *atomic.Int32
}

func (p unregisterCounter) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	return countingMeter{Meter: p.MeterProvider.Meter(name, opts...), n: p.n}
}

type countingMeter struct {
	metric.Meter
	n *atomic.Int32
}

func (m countingMeter) RegisterCallback(f metric.Callback, instruments ...metric.Observable) (metric.Registration, error) {
	reg, err := m.Meter.RegisterCallback(f, instruments...)
	return countingRegistration{Registration: reg, n: m.n}, err
}

type countingRegistration struct {
	metric.Registration
	n *atomic.Int32
}

func (r countingRegistration) Unregister() error {
	r.n.Add(1)
	return r.Registration.Unregister()
}
