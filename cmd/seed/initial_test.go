package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/fakedata"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// schema describes every constraint and index of the public schema with its
// definition and state: what an interrupted initial load leaves as it was.
func schema(t *testing.T, url string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var s string
	require.NoError(t, conn.QueryRow(ctx, `SELECT string_agg(d, E'\n' ORDER BY d) FROM (
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) ||
       ' convalidated=' || convalidated AS d
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'index ' || indexrelid::regclass || ' ' || pg_get_indexdef(indexrelid) || ' valid=' || indisvalid
FROM pg_index WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)) x`).Scan(&s))
	require.NotEmpty(t, s)
	return s
}

// byName renders the seeded rows with tags by name: the two paths hand tag
// ids out differently (an upsert's conflicts use up ids).
func byName(t *testing.T, url string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var b strings.Builder
	for _, q := range []string{
		"SELECT format('%s %s %s', id, name, age) FROM users ORDER BY id",
		"SELECT format('%s %s %s', id, user_id, email) FROM addresses ORDER BY id",
		"SELECT format('%s %s %s', user_id, bio, website) FROM profiles ORDER BY user_id",
		"SELECT format('%s %s %s %s %s %s', id, user_id, title, content, published, rating) FROM posts ORDER BY id",
		"SELECT name FROM tags ORDER BY name",
		"SELECT format('%s %s', pt.post_id, t.name) FROM post_tags pt JOIN tags t ON t.id = pt.tag_id ORDER BY 1",
	} {
		rows, err := conn.Query(ctx, q)
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			b.WriteString(s + "\n")
		}
		require.NoError(t, rows.Err())
	}
	return b.String()
}

// TestSeedInitialLoad: into empty tables the seed loads in one transaction,
// showing its phases, and makes the same rows as the batched path, the
// tutorial's people first; a second run appends in batches.
func TestSeedInitialLoad(t *testing.T) {
	t.Parallel()
	initial, batched := pgtest.GrownURL(t), pgtest.GrownURL(t)
	before := schema(t, initial)
	args := []string{"--users", "1200", "--seed", "21", "--tags", "30"}
	code, out, errOut := seedRunGrown(t, append(args, "--database-url", initial)...)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, tutorialOutput, out)
	// The load copies the repository's tables and the ones declared for the
	// seed (the follows, and seedTables: CONTRIBUTING's "Adding a table to the seed").
	own := repo.InitialTables()
	total := len(own) + len(fakedata.FollowTables) + len(seedTables)
	for _, line := range []string{"users 1208/1208 (100%)", fmt.Sprintf("copying 1/%d: users done, 1208 rows\n", total),
		fmt.Sprintf("copying 2/%d: addresses done, 2410 rows\n", total),
		fmt.Sprintf("copying %d/%d: post_tags done, ", slices.Index(own, "post_tags")+1, total), "(the server waited ", "building indexes 1/", "adding foreign keys 1/",
		"tutorial people: 8 added", "loaded in one transaction: users 1208, addresses 2410, "} {
		require.Contains(t, errOut, line)
	}
	code, _, errOut = seedRunGrown(t, append(args, "--database-url", batched, "--load", "batched")...)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "committed 1 batch: users 1200")
	require.Equal(t, byName(t, batched), byName(t, initial), "the same rows as the batched path")
	require.Equal(t, before, schema(t, initial), "every key, index and foreign key back, validated")

	code, _, errOut = seedRunGrown(t, "--database-url", initial, "--users", "10", "--seed", "22")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "initial load: refused: table not empty: table users has rows: an initial load needs empty tables; adding the users in batches instead\n")
	require.Contains(t, errOut, "committed 1 batch: users 10,")

	t.Run("ErrNotEmpty", func(t *testing.T) {
		code, _, errOut := seedRunGrown(t, "--database-url", initial, "--users", "10", "--seed", "23", "--load", "initial")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "table not empty: table users has rows")
		require.Contains(t, errOut, "the initial load was rolled back: nothing of it was written")
	})

	t.Run("MaintenanceSettings", func(t *testing.T) {
		// The flags reach the load: a setting the server refuses fails it.
		url := pgtest.GrownURL(t)
		code, _, errOut := seedRunGrown(t, "--database-url", url, "--users", "10", "--seed", "24", "--maintenance-work-mem", "lots")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, `maintenance_work_mem "lots", max_parallel_maintenance_workers 2`)
		code, _, errOut = seedRunGrown(t, "--database-url", url, "--users", "10", "--seed", "24", "--maintenance-work-mem", "64MB",
			"--maintenance-workers", "-1")
		require.Equal(t, 0, code, errOut)
		require.Contains(t, errOut, "loaded in one transaction: users 18,")
	})
}

// lineWriter keeps what a process writes and says when a line containing
// a string has been written.
type lineWriter struct {
	mu   sync.Mutex
	text strings.Builder
}

func (w *lineWriter) consume(t *testing.T, r io.Reader) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		w.mu.Lock()
		w.text.WriteString(s.Text() + "\n")
		w.mu.Unlock()
	}
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.text.String()
}

// TestInitialLoadInterrupted stops the seed's initial load mid-COPY and
// mid-index-build, by SIGINT and by SIGKILL, and restarts the server
// mid-load: each time the transaction rolls back, the schema is exactly as
// it was, and no row stays.
func TestInitialLoadInterrupted(t *testing.T) {
	t.Parallel()
	// What the server is doing for the seed, from its progress views.
	copying := "SELECT EXISTS (SELECT FROM pg_stat_progress_copy WHERE datname = current_database() AND tuples_processed > 0)"
	indexing := "SELECT EXISTS (SELECT FROM pg_stat_progress_create_index WHERE datname = current_database())"
	if pgtest.Citus() {
		// The shards' indexes are built on the workers; the coordinator's
		// builds, of its empty shell tables, end too soon to be seen.
		indexing = `SELECT coalesce(bool_or(result = 't'), false) FROM run_command_on_workers(format(
			'SELECT EXISTS (SELECT FROM pg_stat_progress_create_index WHERE datname = %L)', current_database()))`
	}
	cases := []struct {
		name    string
		users   string
		during  string
		signal  syscall.Signal
		code    int
		restart bool
	}{
		{"SIGINTMidCopy", "200000", copying, syscall.SIGINT, 130, false},
		{"SIGKILLMidCopy", "200000", copying, syscall.SIGKILL, -1, false},
		{"SIGINTMidIndexBuild", "60000", indexing, syscall.SIGINT, 130, false},
		{"SIGKILLMidIndexBuild", "60000", indexing, syscall.SIGKILL, -1, false},
		{"ServerRestartMidCopy", "200000", copying, 0, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var url string
			var restart func()
			if tc.restart {
				c := pgtest.StartCluster(t, pgtest.Throwaway)
				url = pgtest.CreateDatabase(t, c, "inkwell")
				restart = func() {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					defer cancel()
					require.NoError(t, c.Restart(ctx, "fast"))
				}
				code, _, errOut := seedRun(t, "--database-url", url) // migrated, and the tutorial's rows
				require.Equal(t, 0, code, errOut)
				code, _, errOut = seedRun(t, "--database-url", url, "--reset", "--load", "batched")
				require.Equal(t, 0, code, errOut)
			} else {
				url = pgtest.GrownURL(t)
			}
			before := schema(t, url)
			args := []string{"--database-url", url, "--users", tc.users, "--seed", "3", "--load", "initial"}
			if tc.restart {
				args = append(args, "--reset")
			}
			cmd := seedCommand(!tc.restart, args...)
			stderrPipe, err := cmd.StderrPipe()
			require.NoError(t, err)
			var stderr lineWriter
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			consumed := make(chan struct{})
			go func() { defer close(consumed); stderr.consume(t, stderrPipe) }()

			ctx := context.Background()
			conn, err := pgx.Connect(ctx, url)
			require.NoError(t, err)
			deadline := time.Now().Add(3 * time.Minute)
			for {
				var now bool
				require.NoError(t, conn.QueryRow(ctx, tc.during).Scan(&now))
				if now {
					break
				}
				require.True(t, time.Now().Before(deadline), "never saw it; stderr:\n%s", stderr.String())
				time.Sleep(5 * time.Millisecond)
			}
			conn.Close(ctx)
			if tc.restart {
				restart()
			} else {
				require.NoError(t, cmd.Process.Signal(tc.signal))
			}
			<-consumed
			err = cmd.Wait()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "stderr:\n%s", stderr.String())
			require.Equal(t, tc.code, exit.ExitCode(), "stderr:\n%s", stderr.String())
			if tc.signal == syscall.SIGINT {
				require.Contains(t, stderr.String(), "seed: interrupted; the initial load was rolled back: nothing of it was written")
			}
			if tc.restart {
				require.Contains(t, stderr.String(), "the initial load was rolled back")
			}

			// The server ends the dead client's transaction on its own
			// time: wait for the lock to go (a table's lock is the load's).
			conn, err = pgx.Connect(ctx, url)
			require.NoError(t, err)
			defer conn.Close(ctx)
			for {
				var locked bool
				require.NoError(t, conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks
					WHERE relation = 'users'::regclass AND mode = 'AccessExclusiveLock')`).Scan(&locked))
				if !locked {
					break
				}
				require.True(t, time.Now().Before(deadline), "the load's transaction never ended")
				time.Sleep(20 * time.Millisecond)
			}
			require.Equal(t, before, schema(t, url), "the schema is exactly as it was")
			var rows int
			require.NoError(t, conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM addresses)
				+ (SELECT count(*) FROM posts) + (SELECT count(*) FROM post_tags) + (SELECT count(*) FROM profiles)`).Scan(&rows))
			require.Zero(t, rows, "no row stays")
		})
	}
}

// TestSeedInitialLoadTwoAtOnce: two seeds at once into one empty database
// (--load auto, each its own --seed). One loads in one transaction; the
// other waits for its lock, or comes after it, finds its rows, and adds its
// users in batches: both sets are there, as each says. A few rounds, since
// the two race.
func TestSeedInitialLoadTwoAtOnce(t *testing.T) {
	t.Parallel()
	loaded := regexp.MustCompile(`loaded in one transaction: users (\d+),`)
	committed := regexp.MustCompile(`committed \d+ batch(?:es)?: users (\d+),`)
	type outcome struct {
		code   int
		errOut string
	}
	for round := range 3 {
		url := pgtest.URL(t)
		results := make(chan outcome, 2)
		for _, seed := range []int{2*round + 61, 2*round + 62} {
			go func() {
				code, _, errOut := seedRun(t, "--database-url", url, "--users", "1500", "--seed", strconv.Itoa(seed))
				results <- outcome{code, errOut}
			}()
		}
		var initial, batched, users int
		for range 2 {
			r := <-results
			require.Equal(t, 0, r.code, r.errOut)
			if m := loaded.FindStringSubmatch(r.errOut); m != nil {
				initial++
				n, err := strconv.Atoi(m[1])
				require.NoError(t, err)
				users += n
			}
			if m := committed.FindStringSubmatch(r.errOut); m != nil {
				batched++
				require.Regexp(t, `initial load: refused: table not empty: .*; adding the users in batches instead`, r.errOut)
				n, err := strconv.Atoi(m[1])
				require.NoError(t, err)
				users += n
			}
		}
		require.Equal(t, 1, initial, "one loads in one transaction")
		require.Equal(t, 1, batched, "the other adds in batches")
		require.Equal(t, users, counts(t, url)["users"], "both seeds' users")
	}
}
