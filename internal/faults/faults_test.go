package faults_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgcluster"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

func open(t *testing.T, url string, cfg repo.PoolConfig) (*repo.Repo, *pgxpool.Pool) {
	t.Helper()
	pool, err := repo.OpenPool(context.Background(), url, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return repo.New(pool), pool
}

func admin(t *testing.T, c *pgcluster.Cluster) *pgx.Conn {
	t.Helper()
	url, err := c.URL("postgres")
	require.NoError(t, err)
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestTerminatedBackends kills every session of the pool under it. Reads do
// not notice (retried once on a fresh connection); a write fails at most once
// per killed connection, with ErrUnavailable, and then works again.
func TestTerminatedBackends(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := pgtest.StartCluster(t, pgtest.Throwaway)
	url := pgtest.CreateDatabase(t, c, "inkwell")
	const conns = 4
	r, pool := open(t, url, repo.PoolConfig{MaxConns: conns, MinConns: conns})
	u, err := r.CreateUser(ctx, repo.NewUser{Name: "Survivor", Age: 30})
	require.NoError(t, err)
	adminConn := admin(t, c)
	kill := func() {
		// Wait until the pool's connections are all up on the server (MinConns
		// refills it in the background), then kill every one.
		require.Eventually(t, func() bool {
			var sessions int
			require.NoError(t, adminConn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = 'inkwell' AND pid <> pg_backend_pid()`).Scan(&sessions))
			return sessions == conns && pool.Stat().TotalConns() == conns
		}, 10*time.Second, 10*time.Millisecond)
		var killed int
		require.NoError(t, adminConn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = 'inkwell' AND pid <> pg_backend_pid()`).Scan(&killed))
		require.Equal(t, conns, killed)
	}

	kill()
	for range 3 * conns {
		got, err := r.GetUser(ctx, u.ID)
		require.NoError(t, err, "reads are retried on a fresh connection")
		require.Equal(t, "Survivor", got.Name)
	}

	kill()
	failures := 0
	for i := range 3 * conns {
		_, err := r.CreateUser(ctx, repo.NewUser{Name: fmt.Sprint("After ", i), Age: 1})
		if err != nil {
			require.ErrorIs(t, err, repo.ErrUnavailable)
			failures++
		}
	}
	require.LessOrEqual(t, failures, conns, "at most one failure per killed connection")
	_, err = r.CreateUser(ctx, repo.NewUser{Name: "Last", Age: 1})
	require.NoError(t, err)
}

// TestServerRestart restarts the server under a write load, fast and
// immediate (a crash). Every write reported committed is there afterwards,
// and the pool writes again within seconds, without a restart of ours.
func TestServerRestart(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"fast", "immediate"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := pgtest.StartCluster(t, pgtest.Durable)
			url := pgtest.CreateDatabase(t, c, "inkwell")
			r, _ := open(t, url, repo.PoolConfig{MaxConns: 4})

			var (
				mu        sync.Mutex
				committed []int64
				failed    atomic.Int64
				stop      atomic.Bool
				wg        sync.WaitGroup
			)
			for w := range 4 {
				wg.Go(func() {
					for i := 0; !stop.Load(); i++ {
						u, err := r.RegisterUser(ctx, repo.NewUser{Name: "Load", Age: 1}, fmt.Sprintf("w%d.%d@example.com", w, i))
						if err != nil {
							require.ErrorIs(t, err, repo.ErrUnavailable, "a restart fails writes with ErrUnavailable only")
							failed.Add(1)
							time.Sleep(10 * time.Millisecond)
							continue
						}
						mu.Lock()
						committed = append(committed, u.ID)
						mu.Unlock()
					}
				})
			}
			count := func() int { mu.Lock(); defer mu.Unlock(); return len(committed) }
			require.Eventually(t, func() bool { return count() > 50 }, 30*time.Second, 5*time.Millisecond)
			require.NoError(t, c.Restart(ctx, mode))
			before := count()
			require.Eventually(t, func() bool { return count() > before+50 }, 30*time.Second, 10*time.Millisecond,
				"the pool writes again after the restart")
			stop.Store(true)
			wg.Wait()

			ids := make([]int64, len(committed))
			copy(ids, committed)
			pool, err := pgxpool.New(ctx, url)
			require.NoError(t, err)
			defer pool.Close()
			var found int
			require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = ANY($1)", ids).Scan(&found))
			require.Equal(t, len(ids), found, "every acknowledged write survived")
			var addresses int
			require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM addresses WHERE user_id = ANY($1)", ids).Scan(&addresses))
			require.Equal(t, len(ids), addresses, "and whole: no user without their address")
			t.Logf("%s restart: %d writes committed, %d failed with ErrUnavailable", mode, len(ids), failed.Load())
		})
	}
}

// TestQueryDeadline: a query whose context ends returns then, is cancelled on
// the server, and leaves no connection checked out.
func TestQueryDeadline(t *testing.T) {
	t.Parallel()
	c := pgtest.StartCluster(t, pgtest.Throwaway)
	url := pgtest.CreateDatabase(t, c, "inkwell")
	_, pool := open(t, url, repo.PoolConfig{MaxConns: 2})

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := pool.Exec(ctx, "SELECT pg_sleep(60)")
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr, "the server answered the cancel request")
	require.Equal(t, pgerrcode.QueryCanceled, pgErr.Code)
	require.Less(t, time.Since(start), 10*time.Second, "returned near its deadline, not after the minute")

	require.Eventually(t, func() bool {
		var running int
		require.NoError(t, admin(t, c).QueryRow(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' AND state = 'active'").Scan(&running))
		return running == 0
	}, 10*time.Second, 20*time.Millisecond, "the server stopped the query")
	require.Zero(t, pool.Stat().AcquiredConns(), "no connection leaked")
	var one int
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT 1").Scan(&one), "the pool still works")

	// Through the repository: a read stuck behind a lock fails when its
	// context ends, with the context's error.
	lock, err := pool.Begin(context.Background())
	require.NoError(t, err)
	defer lock.Rollback(context.Background())
	_, err = lock.Exec(context.Background(), "LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = repo.New(pool).GetUser(ctx, 1)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "get user 1: context deadline exceeded")
}
