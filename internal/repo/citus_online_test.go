//go:build citus

// The tests of a Citus cluster that changes under the repository: a worker
// added and shards moved while clients call, a node crashed. Each starts a
// cluster of its own (the shared one cannot lose a node), so they are built
// only by make test-citus (-tags citus).

package repo_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/citusgrow"
	"github.com/inkwell-dev/inkwell/internal/fakedata"
	"github.com/inkwell-dev/inkwell/internal/pgcluster"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// onlineUsers is how many users the tests load before they change the
// cluster: enough for every shard to hold some, small enough for CI.
const onlineUsers = 2000

// callDeadline bounds every client call: a call that hangs past it fails
// the test (context.DeadlineExceeded is not ErrUnavailable).
const callDeadline = 30 * time.Second

// cluster is a test's own Citus cluster with onlineUsers users loaded, an
// env on its coordinator (as the superuser) and the superuser's pool.
type cluster struct {
	env
	citus *pgcluster.Citus
}

func startOnline(t *testing.T, opts pgcluster.Options) cluster {
	t.Helper()
	c := pgtest.StartCitus(t, 2, opts)
	url, err := c.URL("postgres")
	require.NoError(t, err)
	pool := pgtest.PoolFor(t, url, func(cfg *pgxpool.Config) { cfg.MaxConns = 16 })
	e := env{Repo: repo.New(pool), pool: pool, counter: &queryCounter{}, ctx: context.Background()}
	gen := fakedata.New(fakedata.Config{Seed: 24, AddressesPerUser: 2, PostsPerUser: 3, Tags: 40})
	_, err = e.BulkInsertGraphs(e.ctx, gen.Users(onlineUsers), repo.BulkOptions{BatchSize: 500})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			diagnose(t, c, pool)
		}
	})
	return cluster{env: e, citus: c}
}

// diagnose logs, for a failed test, what explains lost or unseen rows: the
// transactions left prepared on the workers (a two-phase commit not
// finished) and every warning and error the nodes logged.
func diagnose(t *testing.T, c *pgcluster.Citus, pool *pgxpool.Pool) {
	// Bounded: the cluster may be what failed.
	ctx, cancel := context.WithTimeout(context.Background(), callDeadline)
	defer cancel()
	rows, err := pool.Query(ctx, "SELECT nodeport, result FROM run_command_on_workers('SELECT count(*) FROM pg_prepared_xacts')")
	if err == nil {
		for rows.Next() {
			var port int
			var result string
			if err := rows.Scan(&port, &result); err == nil {
				t.Logf("prepared transactions on worker %d: %s", port, result)
			}
		}
		rows.Close()
		err = rows.Err()
	}
	if err != nil {
		t.Logf("prepared transactions on the workers: %v", err)
	}
	// Whether the missing rows appear once Citus finishes what two-phase
	// commits it left prepared: the checks again.
	var recovered int
	if err := pool.QueryRow(ctx, "SELECT recover_prepared_transactions()").Scan(&recovered); err != nil {
		t.Logf("recover_prepared_transactions: %v", err)
	} else if checks, err := citusgrow.Checks(ctx, pool); err != nil {
		t.Logf("checks: %v", err)
	} else {
		broken, err := citusgrow.Broken(ctx, pool, checks)
		t.Logf("after recover_prepared_transactions (%d recovered): broken %v (%v)", recovered, broken, err)
	}
	findOwnerRows(ctx, t, c, pool)
	if rows, err := pool.Query(ctx, "SELECT format('%s %s %s %s', operation_id, object_name, node_group_id, policy_type) FROM pg_dist_cleanup"); err == nil {
		cleanup, err := pgx.CollectRows(rows, pgx.RowTo[string])
		t.Logf("pg_dist_cleanup (placements left to drop): %v %v", cleanup, err)
	}
	for _, node := range append([]*pgcluster.Cluster{c.Coordinator}, c.Workers...) {
		log, err := os.ReadFile(filepath.Join(node.Dir, "postgres.log"))
		if err != nil {
			t.Logf("%s: %v", node.Dir, err)
			continue
		}
		for _, line := range strings.Split(string(log), "\n") {
			if strings.Contains(line, "WARNING") || strings.Contains(line, "ERROR") || strings.Contains(line, "recover") {
				t.Logf("%s: %s", filepath.Base(node.Dir), line)
			}
		}
	}
}

// findOwnerRows logs, for every address without its email_owners row (as
// the coordinator sees them), every table on every worker named like a
// placement of email_owners that holds the row's key: a row written to a
// placement that a move had already left behind shows here.
func findOwnerRows(ctx context.Context, t *testing.T, c *pgcluster.Citus, pool *pgxpool.Pool) {
	rows, err := pool.Query(ctx, `SELECT email_key(email) FROM addresses
		EXCEPT SELECT email_key FROM email_owners`)
	if err != nil {
		t.Logf("addresses without an owner row: %v", err)
		return
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(keys) == 0 {
		t.Logf("addresses without an owner row: %v %v", keys, err)
		return
	}
	t.Logf("addresses without an owner row: %v", keys)
	for _, w := range c.Workers {
		url, err := w.URL("postgres")
		if err != nil {
			t.Logf("%s: %v", w.Dir, err)
			continue
		}
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Logf("%s: %v", w.Dir, err)
			continue
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT relname FROM pg_class WHERE relkind = 'r' AND relname ~ '^email_owners_[0-9]+$'`)
		if err != nil {
			t.Logf("%s: %v", w.Dir, err)
			continue
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Logf("%s: %v", w.Dir, err)
			continue
		}
		for _, table := range tables {
			var found []string
			rows, err := conn.Query(ctx, fmt.Sprintf("SELECT format('%%s %%s/%%s', email_key, user_id, address_id) FROM %s WHERE email_key = ANY($1)", table), keys)
			if err == nil {
				found, err = pgx.CollectRows(rows, pgx.RowTo[string])
			}
			if err != nil || len(found) > 0 {
				t.Logf("%s: %s holds %v %v", filepath.Base(w.Dir), table, found, err)
			}
		}
	}
}

// tables are the tables Citus holds (distributed and reference), from its catalog.
func (c cluster) tables(t *testing.T) []string {
	t.Helper()
	rows, err := c.pool.Query(c.ctx, "SELECT logicalrelid::regclass::text FROM pg_dist_partition ORDER BY 1")
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NotEmpty(t, tables)
	return tables
}

// rowSet is every row of every table, as the digest of its text, counted.
type rowSet map[string]map[string]int

func (c cluster) digests(t *testing.T) rowSet {
	t.Helper()
	s := rowSet{}
	for _, table := range c.tables(t) {
		rows, err := c.pool.Query(c.ctx, fmt.Sprintf("SELECT md5(t::text) FROM %s t", table))
		require.NoError(t, err)
		digests, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		s[table] = map[string]int{}
		for _, d := range digests {
			s[table][d]++
		}
	}
	return s
}

// rows is how many rows table has, and a checksum of them (the sum of
// their digests' first 60 bits, which does not depend on their order).
func (s rowSet) rows(table string) (n int, sum uint64) {
	for d, k := range s[table] {
		var v uint64
		fmt.Sscanf(d[:15], "%x", &v)
		n += k
		sum += uint64(k) * v
	}
	return n, sum
}

// requireKept requires every row of before in after, and no row twice in
// after: nothing lost, nothing doubled.
func requireKept(t *testing.T, before, after rowSet) {
	t.Helper()
	for table, digests := range before {
		n, sum := before.rows(table)
		m, sum2 := after.rows(table)
		t.Logf("%s: %d rows (checksum %x) before, %d (%x) after", table, n, sum, m, sum2)
		for d := range digests {
			if _, ok := after[table][d]; !ok {
				t.Fatalf("%s: a row before (digest %s) is gone", table, d)
			}
		}
		for d, k := range after[table] {
			if k != 1 {
				t.Fatalf("%s: row %s is there %d times", table, d, k)
			}
		}
	}
}

// requireWhole requires the data's rules to hold on the whole cluster
// (citusgrow.Checks: every foreign key of the catalog met, emails unique
// across the shards, every shard in one place), and every address with
// exactly its email_owners row and every owner row with its address.
func (c cluster) requireWhole(t *testing.T, step string) {
	t.Helper()
	c.checkOwners(t, step) // first: it names the rows
	c.requireEdgesIntact(t)
	checks, err := citusgrow.Checks(c.ctx, c.pool)
	require.NoError(t, err)
	broken, err := citusgrow.Broken(c.ctx, c.pool, checks)
	require.NoError(t, err)
	require.Empty(t, broken, step)
}

// written is what the clients were told was written.
type written struct {
	mu     sync.Mutex
	users  []repo.User        // registered, with their addresses
	tagged map[int64][]string // post -> tags put on it
	edges  [][2]int64         // follower, followee
	bulk   []string           // emails of users a bulk load committed
}

// onlineClients are the calls the issue names: registrations, point reads,
// tagging, a list across shards and a bulk load, each on its own rows; and
// the relations between users: Follow among the first half of the loaded
// users (the reads' users are never deleted), and a user registered,
// followed, following, and deleted.
func onlineClients(c cluster, posts []int64, w *written) []citusgrow.Call {
	return []citusgrow.Call{
		{Name: "Follow", Do: func(ctx context.Context, i int) error {
			follower, followee := int64(1+i*17%(onlineUsers/2)), int64(1+(i*31+7)%(onlineUsers/2))
			if follower == followee {
				followee = 1 + followee%(onlineUsers/2)
			}
			err := c.Follow(ctx, follower, followee)
			if err == nil {
				w.mu.Lock()
				w.edges = append(w.edges, [2]int64{follower, followee})
				w.mu.Unlock()
			}
			return err
		}},
		{Name: "DeleteUser", Do: func(ctx context.Context, i int) error {
			u, err := c.RegisterUser(ctx, repo.NewUser{Name: fmt.Sprintf("Gone %d", i), Age: 30}, fmt.Sprintf("gone-%d@example.org", i))
			if err != nil {
				return err
			}
			other := int64(1 + i*13%(onlineUsers/2))
			if err := cmp.Or(c.Follow(ctx, u.ID, other), c.Follow(ctx, other, u.ID)); err != nil {
				return err
			}
			return c.DeleteUser(ctx, u.ID)
		}},
		{Name: "RegisterUser", Do: func(ctx context.Context, i int) error {
			u, err := c.RegisterUser(ctx, repo.NewUser{Name: fmt.Sprintf("Online %d", i), Age: 30},
				fmt.Sprintf("online-%d@example.org", i), fmt.Sprintf("online-%d@work.example", i))
			if err == nil {
				w.mu.Lock()
				w.users = append(w.users, u)
				w.mu.Unlock()
			}
			return err
		}},
		{Name: "GetUserWithAddresses", Do: func(ctx context.Context, i int) error {
			_, err := c.GetUserWithAddresses(ctx, int64(1+i*37%onlineUsers), repo.Joined)
			return err
		}},
		{Name: "TagPost", Do: func(ctx context.Context, i int) error {
			post, tag := posts[i%len(posts)], fmt.Sprintf("online-%d", i%7)
			_, err := c.TagPost(ctx, post, tag, "go")
			if err == nil {
				w.mu.Lock()
				w.tagged[post] = append(w.tagged[post], tag, "go")
				w.mu.Unlock()
			}
			return err
		}},
		{Name: "ListUsers", Do: func(ctx context.Context, i int) error {
			_, err := c.ListUsers(ctx, repo.UserQuery{OrderBy: repo.ByName, Limit: 20})
			return err
		}},
		{Name: "BulkInsertGraphs", Do: func(ctx context.Context, i int) error {
			var graphs []repo.UserGraph
			for j := range 10 {
				graphs = append(graphs, repo.UserGraph{User: repo.NewUser{Name: fmt.Sprintf("Bulk %d.%d", i, j), Age: 40},
					Emails: []string{fmt.Sprintf("bulk-%d-%d@example.org", i, j)},
					Posts:  []repo.GraphPost{{Title: "Bulk", Content: "moved", Tags: []string{"go", fmt.Sprintf("bulk-%d", i%5)}}}})
			}
			_, err := c.BulkInsertGraphs(ctx, seqOf(graphs, 0), repo.BulkOptions{})
			if err == nil {
				w.mu.Lock()
				for _, g := range graphs {
					w.bulk = append(w.bulk, g.Emails...)
				}
				w.mu.Unlock()
			}
			return err
		}},
	}
}

// requireWritten requires every write a client was told succeeded to be
// there, once, as it was returned.
func (c cluster) requireWritten(t *testing.T, w *written) {
	t.Helper()
	for _, u := range w.users {
		got, err := c.GetUserWithAddresses(c.ctx, u.ID, repo.Joined)
		require.NoError(t, err)
		require.Equal(t, u.Name, got.Name)
		require.ElementsMatch(t, u.Addresses, got.Addresses)
	}
	for post, tags := range w.tagged {
		got, err := c.GetPost(c.ctx, post, repo.Joined)
		require.NoError(t, err)
		var names []string
		for _, tag := range got.Tags {
			names = append(names, tag.Name)
		}
		for _, tag := range tags {
			require.Contains(t, names, tag, "post %d", post)
		}
	}
	var found int
	require.NoError(t, c.pool.QueryRow(c.ctx, "SELECT count(*) FROM addresses WHERE email = ANY($1)", w.bulk).Scan(&found))
	require.Equal(t, len(w.bulk), found, "users of committed bulk loads")
	follows, _ := c.edgeRows(t)
	for _, edge := range w.edges {
		_, ok := follows[edge]
		require.True(t, ok, "edge %d->%d", edge[0], edge[1])
	}
	var gone int
	require.NoError(t, c.pool.QueryRow(c.ctx, "SELECT count(*) FROM users WHERE name LIKE 'Gone %'").Scan(&gone))
	require.Zero(t, gone, "users the clients deleted")
}

// TestCitusRebalanceUnderTraffic: with users loaded on two workers, clients
// call RegisterUser, GetUserWithAddresses, TagPost, ListUsers,
// BulkInsertGraphs, Follow, and DeleteUser (of users they registered and
// linked) at a steady rate while a third worker is started, added
// (citus_add_node) and the shards rebalanced onto it online
// (citus_rebalance_start, logical replication). No call fails; every row
// that was there is still there once, and every row a client was told was
// written; emails stay unique across shards, every user's graph whole, and
// every edge has its mirror.
// The p99 of each call before and during the move is logged, not asserted.
func TestCitusRebalanceUnderTraffic(t *testing.T) {
	t.Parallel()
	c := startOnline(t, pgcluster.Options{Throwaway: true, Logical: true})
	var posts []int64
	rows, err := c.pool.Query(c.ctx, "SELECT id FROM posts ORDER BY id LIMIT 200")
	require.NoError(t, err)
	posts, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	c.requireWhole(t, "loaded")
	before := c.digests(t)

	w := &written{tagged: map[int64][]string{}}
	clients := citusgrow.Start(onlineClients(c, posts, w), 50*time.Millisecond, callDeadline)
	defer clients.Stop()
	time.Sleep(3 * time.Second) // calls before the move, for their p99

	clients.During.Store(true)
	moveStart := time.Now()
	worker, err := c.citus.AddWorker(c.ctx, "postgres")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Minute)
	defer cancel()
	_, err = c.pool.Exec(ctx, "SELECT citus_rebalance_start(shard_transfer_mode => 'force_logical')")
	require.NoError(t, err)
	_, err = c.pool.Exec(ctx, "SELECT citus_rebalance_wait()")
	require.NoError(t, err)
	moved := time.Since(moveStart)
	clients.Stop()

	var state string
	require.NoError(t, c.pool.QueryRow(c.ctx, "SELECT state FROM citus_rebalance_status() ORDER BY job_id DESC LIMIT 1").Scan(&state))
	require.Equal(t, "finished", state)
	// A move that lost a deadlock with a call is cancelled and tried again
	// a minute later (Citus's background task queue): none was.
	var retried int
	require.NoError(t, c.pool.QueryRow(c.ctx, `SELECT coalesce(max(retry_count), 0) FROM pg_dist_background_task
		WHERE job_id = (SELECT max(job_id) FROM pg_dist_background_job)`).Scan(&retried))
	require.Zero(t, retried, "a shard move was cancelled and retried")
	port, err := worker.Port()
	require.NoError(t, err)
	var onNew int
	require.NoError(t, c.pool.QueryRow(c.ctx, "SELECT count(*) FROM citus_shards WHERE nodeport = $1 AND citus_table_type = 'distributed'", port).Scan(&onNew))
	require.Positive(t, onNew, "no shard moved to the new worker")
	for _, calls := range clients.Calls {
		t.Logf("%s: %d calls before, p99 %v; %d during the move, p99 %v; failed %d", calls.Name,
			len(calls.Times[0]), citusgrow.P99(calls.Times[0]), len(calls.Times[1]), citusgrow.P99(calls.Times[1]), len(calls.Failed))
		require.NotEmpty(t, calls.Times[1], "%s made no call during the move", calls.Name)
		require.Empty(t, calls.Failed, "%s: calls that failed", calls.Name)
	}
	t.Logf("worker added and %d shards moved to it in %v", onNew, moved)

	after := c.digests(t)
	requireKept(t, before, after)
	c.requireWritten(t, w)
	c.requireWhole(t, "after the move")
}
