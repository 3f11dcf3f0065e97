package repo_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgcluster"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// sqlcCounter counts the repository's own queries (sqlc's, which start with
// their name, the keyset lists', which start with theirs, and COPYs), not
// the replica health checks.
type sqlcCounter struct{ n atomic.Int64 }

func (c *sqlcCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(d.SQL, "-- name:") || strings.HasPrefix(d.SQL, "-- keyset:") {
		c.n.Add(1)
	}
	return ctx
}

func (c *sqlcCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchQuery counts pipelined statements, one each.
func (c *sqlcCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	if strings.HasPrefix(d.SQL, "-- name:") || strings.HasPrefix(d.SQL, "-- keyset:") {
		c.n.Add(1)
	}
}

func (c *sqlcCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (c *sqlcCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TraceCopyFromStart counts COPY too (sqlc's :copyfrom queries).
func (c *sqlcCounter) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *sqlcCounter) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// startReplicated starts a primary and a hot standby streaming from it
// (pg_basebackup -R), with a migrated database, and returns the database's
// URL on each.
func startReplicated(t *testing.T) (primaryURL, standbyURL string, standby *pgcluster.Cluster) {
	t.Helper()
	primary := pgtest.StartCluster(t, pgtest.Throwaway)
	primaryURL = pgtest.CreateDatabase(t, primary, "inkwell")
	port, err := primary.Port()
	require.NoError(t, err)
	standby = pgtest.StartCluster(t, func(ctx context.Context, c *pgcluster.Cluster) error {
		return c.InitStandby(ctx, port, pgcluster.Options{Throwaway: true})
	})
	standbyURL, err = standby.URL("inkwell")
	require.NoError(t, err)
	return primaryURL, standbyURL, standby
}

func countedPool(t *testing.T, url string) (*pgxpool.Pool, *sqlcCounter) {
	t.Helper()
	counter := &sqlcCounter{}
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool, counter
}

// where runs fn and says which server its queries went to.
func where(t *testing.T, primary, replica *sqlcCounter, fn func()) string {
	t.Helper()
	p, r := primary.n.Load(), replica.n.Load()
	fn()
	switch dp, dr := primary.n.Load()-p, replica.n.Load()-r; {
	case dp > 0 && dr == 0:
		return "primary"
	case dr > 0 && dp == 0:
		return "replica"
	case dp > 0 && dr > 0:
		// A replica check that timed out took the replica out of rotation
		// between two calls of fn: callers that expect one server say so.
		return fmt.Sprintf("both (primary %d, replica %d)", dp, dr)
	default:
		t.Fatalf("fn sent no query")
		return ""
	}
}

// pauseReplay stops the replica's replay of the primary's WAL until the test
// ends, and returns once it has stopped. pg_wal_replay_pause only asks: the
// startup process stops before the next record it replays, and may let one
// more through, so the test sends records (non-transactional WAL messages)
// until the replica says it is paused, before writing anything that must not
// reach it.
func pauseReplay(t *testing.T, primary, replica *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	_, err := replica.Exec(ctx, "SELECT pg_wal_replay_pause()")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = replica.Exec(ctx, "SELECT pg_wal_replay_resume()") })
	eventually(t, "replay paused", func() bool {
		_, err := primary.Exec(ctx, "SELECT pg_logical_emit_message(false, 'inkwell-test', 'pause')")
		require.NoError(t, err)
		var state string
		require.NoError(t, replica.QueryRow(ctx, "SELECT pg_get_wal_replay_pause_state()").Scan(&state))
		return state == "paused"
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "timed out waiting: %s", what)
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primaryURL, standbyURL, standby := startReplicated(t)
	primaryPool, onPrimary := countedPool(t, primaryURL)
	replicaPool, onReplica := countedPool(t, standbyURL)

	var inRecovery bool
	require.NoError(t, replicaPool.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery))
	require.True(t, inRecovery, "the replica pool is a hot standby")

	const maxLag = 400 * time.Millisecond
	r := repo.New(primaryPool, repo.WithReplicas(repo.ReplicaOptions{MaxLag: maxLag, CheckEvery: 25 * time.Millisecond}, replicaPool))
	defer r.Close()
	up := func() bool { s := r.ReplicaStatuses()[0]; return s.Up && s.Lag < maxLag }
	eventually(t, "the replica is checked and fresh", up)

	var alice repo.User
	require.Equal(t, "primary", where(t, onPrimary, onReplica, func() {
		var err error
		alice, err = r.RegisterUser(ctx, repo.NewUser{Name: "Alice", Age: 30}, "alice@example.com")
		require.NoError(t, err)
	}), "writes go to the primary")
	eventually(t, "the replica has Alice", func() bool {
		_, err := repo.New(replicaPool).GetUser(ctx, alice.ID)
		return err == nil
	})

	t.Run("ReadsGoToTheReplica", func(t *testing.T) {
		// A check that times out on a busy machine takes the replica out of
		// rotation until the next one: the reads are repeated until they all
		// land there.
		eventually(t, "reads on the replica", func() bool {
			return up() && where(t, onPrimary, onReplica, func() {
				got, err := r.GetUserWithAddresses(ctx, alice.ID, repo.Joined)
				require.NoError(t, err)
				require.Equal(t, "alice@example.com", got.Addresses[0].Email)
				_, err = r.ListUsersWithPosts(ctx, repo.UserQuery{}, repo.SelectIn)
				require.NoError(t, err)
			}) == "replica"
		})
		require.Equal(t, "primary", where(t, onPrimary, onReplica, func() {
			require.NoError(t, r.InTx(ctx, repo.TxOptions{ReadOnly: true}, func(tx *repo.Repo) error {
				_, err := tx.GetUser(ctx, alice.ID)
				return err
			}))
		}), "a transaction runs on the primary, reads included")
	})

	pause := func(t *testing.T) { pauseReplay(t, primaryPool, replicaPool) }

	t.Run("ReadYourWrites", func(t *testing.T) {
		// Its own Repo, whose MaxLag outlasts the subtest: with r's 400 ms a
		// busy machine lets the paused replica fall out of rotation before
		// the plain read below, which then reads Bob on the primary.
		rw := repo.New(primaryPool, repo.WithReplicas(repo.ReplicaOptions{MaxLag: time.Hour, CheckEvery: 25 * time.Millisecond}, replicaPool))
		defer rw.Close()
		eventually(t, "fresh to both", func() bool {
			s := rw.ReplicaStatuses()[0]
			return up() && s.Up && s.Lag < maxLag
		})
		pause(t)
		session := repo.WithReadYourWrites(ctx)
		bob, err := rw.CreateUser(session, repo.NewUser{Name: "Bob", Age: 25})
		require.NoError(t, err)

		require.Equal(t, "primary", where(t, onPrimary, onReplica, func() {
			got, err := rw.GetUser(session, bob.ID)
			require.NoError(t, err, "the writer sees its write")
			require.Equal(t, "Bob", got.Name)
		}))
		// A check that times out takes the replica out of rotation until the
		// next: the plain read is repeated until the replica serves it.
		eventually(t, "another caller reads the replica", func() bool {
			var err error
			if where(t, onPrimary, onReplica, func() { _, err = rw.GetUser(ctx, bob.ID) }) != "replica" {
				return false
			}
			require.ErrorIs(t, err, repo.ErrNotFound, "another caller may read the replica, which has not replayed Bob yet")
			return true
		})

		_, err = replicaPool.Exec(ctx, "SELECT pg_wal_replay_resume()")
		require.NoError(t, err)
		eventually(t, "the session reads from the replica again once it has Bob", func() bool {
			return where(t, onPrimary, onReplica, func() {
				_, err := rw.GetUser(session, bob.ID)
				require.NoError(t, err)
			}) == "replica"
		})
	})

	t.Run("LaggingReplicaIsSkipped", func(t *testing.T) {
		eventually(t, "fresh", up)
		pause(t)
		_, err := r.CreateUser(ctx, repo.NewUser{Name: "Carol", Age: 41}) // WAL the replica will not replay
		require.NoError(t, err)
		eventually(t, "the replica lags beyond MaxLag", func() bool { return r.ReplicaStatuses()[0].Lag > maxLag })
		require.Equal(t, "primary", where(t, onPrimary, onReplica, func() {
			page, err := r.ListUsers(ctx, repo.UserQuery{})
			require.NoError(t, err)
			require.Len(t, page.Items, 3, "the primary has everyone")
		}))
		_, err = replicaPool.Exec(ctx, "SELECT pg_wal_replay_resume()")
		require.NoError(t, err)
		eventually(t, "the replica catches up", up)
		require.Equal(t, "replica", where(t, onPrimary, onReplica, func() {
			_, err := r.ListUsers(ctx, repo.UserQuery{})
			require.NoError(t, err)
		}))
	})

	t.Run("ReplicaDown", func(t *testing.T) {
		require.NoError(t, standby.Stop(ctx))
		eventually(t, "the replica is found down", func() bool { return !r.ReplicaStatuses()[0].Up })
		require.Error(t, r.ReplicaStatuses()[0].Err)
		require.Equal(t, "primary", where(t, onPrimary, onReplica, func() {
			got, err := r.GetUser(ctx, alice.ID)
			require.NoError(t, err, "reads fall back to the primary")
			require.Equal(t, "Alice", got.Name)
		}))
		require.NoError(t, standby.Start(ctx))
		eventually(t, "the replica is back", up)
		require.Equal(t, "replica", where(t, onPrimary, onReplica, func() {
			_, err := r.GetUser(ctx, alice.ID)
			require.NoError(t, err)
		}))
	})

	// Last: its Reset empties the tables.
	t.Run("EveryMethodIsRouted", func(t *testing.T) {
		testEveryMethodIsRouted(t, primaryPool, replicaPool, onPrimary, onReplica)
	})
}
