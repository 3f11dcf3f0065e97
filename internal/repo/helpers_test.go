package repo_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// queryCounter counts the statements sent to the server (each one a round
// trip), so tests can prove that loading related rows is not N+1.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A batch's statements count one each, though they travel together.
func (c *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (c *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.n.Add(1)
}

func (c *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// queries returns how many statements fn sent.
func (c *queryCounter) queries(t *testing.T, fn func()) int64 {
	t.Helper()
	before := c.n.Load()
	fn()
	return c.n.Load() - before
}

// env is one test's repository on its own fresh, migrated database.
type env struct {
	*repo.Repo
	pool    *pgxpool.Pool
	counter *queryCounter
	ctx     context.Context
}

func newEnv(t *testing.T) env {
	t.Helper()
	counter := &queryCounter{}
	pool := pgtest.NewPool(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = counter })
	return env{Repo: repo.New(pool), pool: pool, counter: counter, ctx: context.Background()}
}

// rows counts the rows of a table, to show what was (not) written.
func (e env) rows(t *testing.T, table string) int {
	t.Helper()
	var n int
	require.NoError(t, e.pool.QueryRow(e.ctx, fmt.Sprintf("SELECT count(*) FROM %s", pgx.Identifier{table}.Sanitize())).Scan(&n))
	return n
}

// mustRegister registers a user with emails or fails the test.
func (e env) mustRegister(t *testing.T, name string, age int32, emails ...string) repo.User {
	t.Helper()
	u, err := e.RegisterUser(e.ctx, repo.NewUser{Name: name, Age: age}, emails...)
	require.NoError(t, err)
	return u
}

func (e env) mustPost(t *testing.T, userID int64, title string, tags ...string) repo.Post {
	t.Helper()
	p, err := e.CreatePost(e.ctx, repo.NewPost{UserID: userID, Title: title, Content: title + " content", Rating: 3.5})
	require.NoError(t, err)
	if len(tags) > 0 {
		_, err = e.TagPost(e.ctx, p.ID, tags...)
		require.NoError(t, err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// ownedAddress writes an address ($1 user, $2 email) with its email_owners
// row, as the repository's writes do.
const ownedAddress = `WITH a AS (INSERT INTO addresses (user_id, email) VALUES ($1, $2) RETURNING user_id, id, email)
	INSERT INTO email_owners (email_key, user_id, address_id) SELECT email_key(email), user_id, id FROM a`

// waitUntilBlocked returns once a statement of the test's database whose
// text is LIKE pattern waits for a lock. It fails the test if done delivers
// first: the statement ended without waiting. On Citus the lock is waited
// for on the worker that holds the row's shard, while the coordinator's
// session waits for that worker: citus_lock_waits names the coordinator's
// statement, citus_stat_activity its database.
func (e env) waitUntilBlocked(t *testing.T, pattern string, done <-chan error) {
	t.Helper()
	query := `SELECT EXISTS (SELECT FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1)`
	if pgtest.Citus() {
		query = `SELECT EXISTS (SELECT FROM citus_lock_waits w JOIN citus_stat_activity a ON a.global_pid = w.waiting_gpid
			WHERE a.datname = current_database() AND w.blocked_statement LIKE $1)`
	}
	deadline := time.After(time.Minute)
	for {
		var waiting bool
		require.NoError(t, e.pool.QueryRow(e.ctx, query, pattern).Scan(&waiting))
		if waiting {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("the statement (%s) ended before it waited for a lock: %v", pattern, err)
		case <-deadline:
			t.Fatalf("no statement (%s) waited for a lock within a minute", pattern)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
