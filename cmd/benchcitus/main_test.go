//go:build citus

// The command starts a Citus cluster, so its tests need the citus
// extension: make test-citus runs them (-tags citus); make test does not
// build them.

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// serverDir is a folder for the servers' data that the postgres user can
// enter (the servers run as postgres when the tests run as root).
func serverDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "benchcitus-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711))
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func queryInt(t *testing.T, ctx context.Context, url, query string) int64 {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int64
	require.NoError(t, conn.QueryRow(ctx, query).Scan(&n), query)
	return n
}

// TestReport runs the benchmark end to end at a tiny size. Its figures come
// from the work it says it did: both databases hold the users it loaded
// plus those it registered, every worker holds shards with users in them
// (as the report says, node by node), single-shard calls take as many
// round trips on Citus as on one node, and the servers' folders are gone
// at the end.
func TestReport(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	dir := serverDir(t)
	out := filepath.Join(t.TempDir(), "report.md")
	const users, ops, rounds = 237, 3, 2
	cfg, err := parseFlags([]string{"-users", strconv.Itoa(users), "-ops", strconv.Itoa(ops),
		"-rounds", strconv.Itoa(rounds), "-dir", dir, "-out", out, "-grow-before", "1s"}, os.Stderr)
	require.NoError(t, err)

	var workerUsers map[string]int64 // node -> users rows, read by the test itself
	cfg.measured = func(ctx context.Context, backends []*backend, res *results) error {
		require.Len(t, backends, 2)
		dist := backends[1]
		// A warm-up call and the timed ones; on Citus, probeRemote's too.
		require.Equal(t, rounds*ops+1, backends[0].registered)
		require.Equal(t, rounds*ops+1+probeCalls+1, dist.registered)
		for _, b := range backends {
			registered := int64(b.registered)
			require.Equal(t, users+registered, queryInt(t, ctx, b.url, "SELECT count(*) FROM users"), b.name)
			require.Equal(t, registeredEmails*registered+int64(users*cfg.addressesPerUser),
				queryInt(t, ctx, b.url, "SELECT count(*) FROM addresses"), b.name)
		}
		require.NotNil(t, dist.citus)
		conn, err := pgx.Connect(ctx, dist.url)
		require.NoError(t, err)
		defer conn.Close(ctx)
		// The loaded users, node by node: the shards' placements, each counted.
		rows, err := conn.Query(ctx, `SELECT s.nodename || ':' || s.nodeport, r.result::bigint
			FROM run_command_on_shards('users', $$SELECT count(*) FROM %s WHERE id <= `+
			strconv.FormatInt(dist.ids[len(dist.ids)-1], 10)+`$$) r JOIN citus_shards s USING (shardid)`)
		require.NoError(t, err)
		workerUsers = map[string]int64{}
		for rows.Next() {
			var node string
			var n int64
			require.NoError(t, rows.Scan(&node, &n))
			workerUsers[node] += n
		}
		require.NoError(t, rows.Err())
		require.Len(t, workerUsers, len(dist.citus.Workers))
		for _, w := range dist.citus.Workers {
			port, err := w.Port()
			require.NoError(t, err)
			require.Positive(t, workerUsers["127.0.0.1:"+strconv.Itoa(port)], "worker on port %d has no users", port)
		}
		var total int64
		for _, n := range workerUsers {
			total += n
		}
		require.EqualValues(t, users, total)

		for _, op := range operations {
			a, b := backends[0].ops[op.name], dist.ops[op.name]
			require.Len(t, a.times, ops*rounds, op.name)
			require.Len(t, b.times, ops*rounds, op.name)
			require.Equal(t, a.trips, b.trips, "%s: round trips differ between one node and Citus", op.name)
			for _, n := range a.trips {
				require.Positive(t, n, op.name)
			}
			require.Zero(t, a.citus, "one node has no Citus counters")
		}
		get := dist.ops["GetUser"]
		require.EqualValues(t, ops*rounds, get.citus.singleShard, "GetUser: one single-shard execution a call")
		require.Zero(t, get.citus.multiShard)
		require.Equal(t, []int64{1, 1, 1, 1, 1}, get.remote, "GetUser: one command to one worker a call")
		list := dist.ops["ListUsers, first page"]
		require.GreaterOrEqual(t, list.citus.multiShard, int64(ops*rounds), "ListUsers: a multi-shard execution a call at least")
		require.Len(t, list.remote, probeCalls)
		for _, n := range list.remote {
			require.GreaterOrEqual(t, n, int64(len(dist.citus.Workers)), "ListUsers: a command to every worker at least")
		}
		for _, name := range []string{"Follow", "ListFollowers, first page, most followed"} {
			for _, n := range dist.ops[name].trips {
				require.EqualValues(t, 1, n, "%s: one round trip", name)
			}
		}
		followers := dist.ops["ListFollowers, first page, most followed"]
		require.EqualValues(t, ops*rounds, followers.citus.singleShard, "ListFollowers: one single-shard execution a call")
		require.Zero(t, followers.citus.multiShard)
		feed := dist.ops["ListFeed (Joined), page of 20, following 1,000"]
		require.GreaterOrEqual(t, feed.citus.multiShard, int64(ops*rounds), "ListFeed: a multi-shard execution a call at least")
		return nil
	}
	var stdout, stderr strings.Builder
	require.NoError(t, bench(ctx, cfg, &stdout, &stderr), stderr.String())
	report := stdout.String()
	t.Log(report)

	written, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, report, string(written))
	for _, want := range []string{
		"## inkwell on Citus against one node",
		"### Load: 237 users into each",
		"Path: InitialLoadGraphs",
		"### Calls: median time of 6 calls each (3 per round, 2 rounds",
		// The growth phase checks its own rows and calls: bench fails otherwise.
		"### Growth under traffic: a worker added, shards moved onto it online",
		"| RegisterUser, 2 emails |",
		"Not scaling figures",
		"| one node | server | 15.",
		"| Citus | coordinator |",
		"| Citus | worker 2 |",
		"Registered on top of the load (2 emails each): 7 users on one node, 13 on Citus.",
	} {
		require.Contains(t, report, want)
	}
	require.Regexp(t, `users 237[,.]`, report)
	for node, n := range workerUsers {
		require.Regexp(t, fmt.Sprintf(`\| %s \| \d+ \| [0-9.]+ MiB \| %d \| \d+ \|`, node, n), report)
	}
	for _, op := range operations {
		require.Regexp(t, `\| `+regexp.QuoteMeta(op.name)+` \| [0-9.]+ ms \| [0-9.]+ ms \| [0-9.]+ \| \d+ / \d+ \| [0-9.]+ single-shard, [0-9.]+ multi-shard \| \d+(-\d+)? \|`, report)
	}
	for _, b := range []string{"one node", "Citus"} {
		require.Regexp(t, `\| `+b+` \| \d+ \| [0-9.]+ s \| \d+ \|`, report)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "the servers' folders stay after the run")
}

// TestInterrupted: a run interrupted as it starts to load stops its servers and
// removes their folders, and says so.
func TestInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := serverDir(t)
	interrupted, interrupt := context.WithCancel(ctx)
	defer interrupt()
	var stdout strings.Builder
	stderr := &watcher{on: "one node: loading", do: interrupt} // both backends are up by then
	code := run(interrupted, []string{"-users", "100000", "-dir", dir}, &stdout, stderr)
	require.Equal(t, 1, code, stderr.String())
	require.Contains(t, stderr.String(), "benchcitus: interrupted; the servers were stopped and their folders removed")
	require.Contains(t, stderr.String(), "context canceled")
	require.Empty(t, stdout.String())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "the servers' folders stay after an interruption")
}

// watcher is a writer that calls do once when what is written contains on.
type watcher struct {
	mu   sync.Mutex
	b    strings.Builder
	on   string
	do   func()
	done bool
}

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if !w.done && strings.Contains(w.b.String(), w.on) {
		w.done = true
		w.do()
	}
	return len(p), nil
}

func (w *watcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
