//go:build citus

package repo_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/fakedata"
	"github.com/inkwell-dev/inkwell/internal/pgcluster"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// crashCase is one kind of call crashed in the middle: call makes it,
// calling block once where the crash should find it (before its
// statements, or between a seed's batches), and check requires its writes
// whole or absent once the cluster is back.
type crashCase struct {
	name  string
	call  func(ctx context.Context, block func() error) error
	check func(t *testing.T)
}

// onNode returns the first of candidates (SQL literals of table's
// distribution column) whose shard is on node: a call on it reaches node.
func (c cluster) onNode(t *testing.T, node *pgcluster.Cluster, table string, candidates ...string) string {
	t.Helper()
	port, err := node.Port()
	require.NoError(t, err)
	for _, v := range candidates {
		var at int
		require.NoError(t, c.pool.QueryRow(c.ctx, fmt.Sprintf(`SELECT nodeport FROM citus_shards
			WHERE shardid = get_shard_id_for_distribution_column('%s', %s)`, table, v)).Scan(&at))
		if at == port {
			return v
		}
	}
	t.Fatalf("no value of %v has its %s shard on %s", candidates, table, node.Dir)
	return ""
}

// crashCases are the calls the issue names, the writes of one user's rows
// on two workers (Follow, AddAddress, DeleteUser) and a seed's batched
// load, each on rows of its own that reach the first worker.
func (c cluster) crashCases(t *testing.T, round int) []crashCase {
	worker := c.citus.Workers[0]
	// email_owners is distributed by the email's key, which for these
	// (lower case already) is the email itself.
	var emails, ids []string
	for i := range 50 {
		emails = append(emails, fmt.Sprintf("'crash-%d-%d@example.org'", round, i))
		ids = append(ids, fmt.Sprint(1+i))
	}
	email := strings.Trim(c.onNode(t, worker, "email_owners", emails...), "'")
	user, err := strconv.ParseInt(c.onNode(t, worker, "users", ids...), 10, 64)
	require.NoError(t, err)
	post := c.mustPost(t, user, fmt.Sprintf("Crash %d", round))
	name := fmt.Sprintf("Crash %d", round)
	bulk := fmt.Sprintf("Crash bulk %d", round)
	// A loaded user of the round's own, on the worker, followed by user and
	// following her: Follow and DeleteUser write rows on her shard and on
	// user's.
	var others []string
	for i := range 10 {
		others = append(others, fmt.Sprint(200+10*round+i))
	}
	other, err := strconv.ParseInt(c.onNode(t, worker, "users", others...), 10, 64)
	require.NoError(t, err)
	require.NoError(t, c.Follow(c.ctx, other, user))
	require.NoError(t, c.Follow(c.ctx, user, other))
	added := fmt.Sprintf("added-%s", email)
	return []crashCase{
		{"RegisterUser", func(ctx context.Context, block func() error) error {
			if err := block(); err != nil {
				return err
			}
			_, err := c.RegisterUser(ctx, repo.NewUser{Name: name, Age: 30}, email, "other-"+email)
			return err
		}, func(t *testing.T) {
			var users, addresses int
			require.NoError(t, c.pool.QueryRow(c.ctx, "SELECT count(*) FROM users WHERE name = $1", name).Scan(&users))
			require.NoError(t, c.pool.QueryRow(c.ctx, "SELECT count(*) FROM addresses WHERE email IN ($1, $2)", email, "other-"+email).Scan(&addresses))
			require.Contains(t, []int{0, 1}, users)
			require.Equal(t, 2*users, addresses, "a registration half-written")
		}},
		{"GetUserWithAddresses", func(ctx context.Context, block func() error) error {
			if err := block(); err != nil {
				return err
			}
			_, err := c.GetUserWithAddresses(ctx, user, repo.SelectIn)
			return err
		}, func(*testing.T) {}},
		{"TagPost", func(ctx context.Context, block func() error) error {
			if err := block(); err != nil {
				return err
			}
			_, err := c.TagPost(ctx, post.ID, "go", fmt.Sprintf("crash-%d", round))
			return err
		}, func(t *testing.T) {
			got, err := c.GetPost(c.ctx, post.ID, repo.Joined)
			require.NoError(t, err)
			require.Contains(t, []int{0, 2}, len(got.Tags), "a post tagged in part: %v", got.Tags)
		}},
		{"ListUsers", func(ctx context.Context, block func() error) error {
			if err := block(); err != nil {
				return err
			}
			_, err := c.ListUsers(ctx, repo.UserQuery{OrderBy: repo.ByName})
			return err
		}, func(*testing.T) {}},
		{"BulkInsertGraphs", func(ctx context.Context, block func() error) error {
			if err := block(); err != nil {
				return err
			}
			var graphs []repo.UserGraph
			for i := range 20 {
				graphs = append(graphs, repo.UserGraph{User: repo.NewUser{Name: bulk, Age: 40},
					Emails: []string{fmt.Sprintf("crash-bulk-%d-%d@example.org", round, i)},
					Posts:  []repo.GraphPost{{Title: "Crash", Content: "bulk", Tags: []string{"go"}}}})
			}
			_, err := c.BulkInsertGraphs(ctx, seqOf(graphs, 0), repo.BulkOptions{})
			return err
		}, func(t *testing.T) {
			var users, whole int
			require.NoError(t, c.pool.QueryRow(c.ctx, "SELECT count(*) FROM users WHERE name = $1", bulk).Scan(&users))
			require.NoError(t, c.pool.QueryRow(c.ctx, `SELECT count(*) FROM users u WHERE name = $1
				AND (SELECT count(*) FROM addresses a WHERE a.user_id = u.id) = 1
				AND (SELECT count(*) FROM posts p WHERE p.user_id = u.id) = 1`, bulk).Scan(&whole))
			require.Contains(t, []int{0, 20}, users, "a batch half-written")
			require.Equal(t, users, whole, "users without their addresses or posts")
		}},
		{"Follow", func(ctx context.Context, block func() error) error {
			if err := block(); err != nil {
				return err
			}
			return c.Follow(ctx, other, int64(onlineUsers-round))
		}, func(t *testing.T) { c.requireEdgesIntact(t) }},
		{"AddAddress", func(ctx context.Context, block func() error) error {
			if err := block(); err != nil {
				return err
			}
			_, err := c.AddAddress(ctx, user, added)
			return err
		}, func(t *testing.T) {
			var addresses int
			require.NoError(t, c.pool.QueryRow(c.ctx, "SELECT count(*) FROM addresses WHERE email = $1", added).Scan(&addresses))
			require.Contains(t, []int{0, 1}, addresses) // and its owner row with it: requireWhole
		}},
		{"DeleteUser", func(ctx context.Context, block func() error) error {
			if err := block(); err != nil {
				return err
			}
			return c.DeleteUser(ctx, other)
		}, func(t *testing.T) {
			c.requireEdgesIntact(t) // no edge left to a user deleted, none without its mirror
			var users, addresses, owners int
			require.NoError(t, c.pool.QueryRow(c.ctx, "SELECT count(*) FROM users WHERE id = $1", other).Scan(&users))
			require.NoError(t, c.pool.QueryRow(c.ctx, "SELECT count(*) FROM addresses WHERE user_id = $1", other).Scan(&addresses))
			require.NoError(t, c.pool.QueryRow(c.ctx, "SELECT count(*) FROM email_owners WHERE user_id = $1", other).Scan(&owners))
			require.Contains(t, []int{0, 1}, users)
			require.Equal(t, 2*users, addresses, "a delete half-done: the user's addresses")
			require.Equal(t, 2*users, owners, "a delete half-done: the user's email_owners rows")
		}},
		{"seed", func(ctx context.Context, block func() error) error {
			// The seed's batched load (cmd/seed), crashed between batches:
			// the batch after the second is the one that meets the crash.
			gen := fakedata.New(fakedata.Config{Seed: uint64(100 + round), AddressesPerUser: 2, PostsPerUser: 3, Tags: 40})
			var blocked error
			_, err := c.BulkInsertGraphs(ctx, gen.Users(1000), repo.BulkOptions{BatchSize: 100, Progress: func(r repo.BulkResult) {
				if r.Batches == 2 {
					blocked = block()
				}
			}})
			return errors.Join(blocked, err)
		}, func(t *testing.T) {
			var users int
			require.NoError(t, c.pool.QueryRow(c.ctx, "SELECT count(*) FROM users").Scan(&users))
			require.Zero(t, (users-onlineUsers)%100, "%d users: a batch half-written", users)
		}},
	}
}

// blocker holds every shard on a worker locked, in a transaction of its
// own, so that a call reaching the worker waits there until the crash.
type blocker struct {
	conn *pgx.Conn
}

func (c cluster) block(ctx context.Context, worker *pgcluster.Cluster) (*blocker, error) {
	port, err := worker.Port()
	if err != nil {
		return nil, err
	}
	rows, err := c.pool.Query(ctx, "SELECT shard_name FROM citus_shards WHERE nodeport = $1", port)
	if err != nil {
		return nil, err
	}
	shards, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	url, err := worker.URL("postgres")
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	// Citus guards its shards against direct commands unless told.
	if _, err := conn.Exec(ctx, "SET citus.enable_manual_changes_to_shards = on; BEGIN"); err != nil {
		return nil, errors.Join(err, conn.Close(ctx))
	}
	for _, s := range shards {
		if _, err := conn.Exec(ctx, "LOCK TABLE "+s+" IN ACCESS EXCLUSIVE MODE"); err != nil {
			return nil, errors.Join(err, conn.Close(ctx))
		}
	}
	return &blocker{conn: conn}, nil
}

// waiting waits until a session on worker waits for a lock (the call has
// reached it), or done is closed.
func waiting(ctx context.Context, worker *pgcluster.Cluster, done <-chan struct{}) (bool, error) {
	url, err := worker.URL("postgres")
	if err != nil {
		return false, err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE NOT granted").Scan(&n); err != nil {
			return false, err
		}
		if n > 0 {
			return true, nil
		}
		select {
		case <-done:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// recovered restarts node after its crash, has the coordinator finish or
// undo the two-phase commits the crash left (recover_prepared_transactions,
// which Citus's maintenance daemon would also run within a minute), and
// requires no prepared transaction left on any node.
func (c cluster) recovered(t *testing.T, node *pgcluster.Cluster) {
	t.Helper()
	require.NoError(t, node.Start(c.ctx))
	if node == c.citus.Coordinator {
		// The pool's connections did not outlive it; this test's own
		// queries below do not go through the repository's retries.
		c.pool.Reset()
	}
	require.NoError(t, c.citus.Coordinator.Exec(c.ctx, "postgres", "SELECT recover_prepared_transactions()"))
	for _, n := range append([]*pgcluster.Cluster{c.citus.Coordinator}, c.citus.Workers...) {
		url, err := n.URL("postgres")
		require.NoError(t, err)
		conn, err := pgx.Connect(c.ctx, url)
		require.NoError(t, err)
		var prepared int
		require.NoError(t, conn.QueryRow(c.ctx, "SELECT count(*) FROM pg_prepared_xacts").Scan(&prepared))
		require.NoError(t, conn.Close(c.ctx))
		require.Zero(t, prepared, "prepared transactions left on %s", n.Dir)
	}
}

// autocommits are the crash cases whose write is a statement outside a
// transaction block: Citus runs it on the worker in autocommit, which may
// have committed before the connection broke, so the call may end with
// ErrCommitUnknown (TagPost's links on Citus: each an idempotent statement).
var autocommits = map[string]bool{"TagPost": true}

// TestCitusNodeCrash: each kind of call, and a seed, waits on a worker
// (its shards locked), and the worker's postmaster and backends are killed
// (SIGKILL): the call ends with ErrUnavailable, before its deadline, and
// not ErrCommitUnknown where it wrote in a transaction block: the
// coordinator's ERROR says nothing committed. Once
// the worker is back and Citus's two-phase commits recovered, what the call
// wrote is whole or absent on every node. Then the same with the
// coordinator killed instead, for a registration.
func TestCitusNodeCrash(t *testing.T) {
	t.Parallel()
	// Durable: a commit acknowledged before the crash must survive it.
	c := startOnline(t, pgcluster.Options{})
	worker := c.citus.Workers[0]
	crash := func(t *testing.T, node *pgcluster.Cluster, cc crashCase) {
		t.Helper()
		ctx, cancel := context.WithTimeout(c.ctx, callDeadline)
		defer cancel()
		var held *blocker
		block := func() error {
			var err error
			held, err = c.block(ctx, worker)
			return err
		}
		done := make(chan struct{})
		var err error
		go func() {
			defer close(done)
			err = cc.call(ctx, block)
		}()
		reached, werr := waiting(ctx, worker, done)
		if werr != nil || !reached {
			<-done
			t.Fatalf("%s did not wait on the worker: %v (the call: %v)", cc.name, werr, err)
		}
		require.NoError(t, node.Crash(c.ctx))
		<-done
		if node != worker {
			// Its locks go: the dead coordinator's sessions there end.
			require.NoError(t, held.conn.Close(c.ctx))
		}
		t.Logf("%s: %v", cc.name, err)
		if err != nil {
			require.ErrorIs(t, err, repo.ErrUnavailable)
			if node == worker && !autocommits[cc.name] {
				// The coordinator said so with an ERROR in a transaction
				// block: nothing committed, and known (a write was tried
				// again, three times at most).
				require.NotErrorIs(t, err, repo.ErrCommitUnknown)
			}
		}
		require.NoError(t, ctx.Err(), "the call outlived its deadline")
		c.recovered(t, node)
		cc.check(t)
		c.requireWhole(t, cc.name)
		_, err = c.GetUserWithAddresses(c.ctx, 1, repo.Joined)
		require.NoError(t, err, "the cluster serves again")
	}
	for i, cc := range c.crashCases(t, 0) {
		t.Run("Worker/"+cc.name, func(t *testing.T) { crash(t, worker, c.crashCases(t, 10+i)[i]) })
	}
	t.Run("Coordinator/RegisterUser", func(t *testing.T) { crash(t, c.citus.Coordinator, c.crashCases(t, 100)[0]) })
}
