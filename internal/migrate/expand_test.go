package migrate_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// release is one version of the application writing accounts: the running
// one writes login, the next username. Each writer inserts rows and renames
// its own, and remembers what each of its rows must hold.
type release struct {
	column  string // the column it writes
	rows    map[int64]string
	writes  atomic.Int64
	stopped atomic.Bool
	err     atomic.Pointer[error] // the first write that failed
}

func (r *release) fail(err error) { r.err.Store(&err) }

func (r *release) failed() error {
	if e := r.err.Load(); e != nil {
		return *e
	}
	return nil
}

func (r *release) run(pool *pgxpool.Pool, name string, stop <-chan struct{}) {
	ctx := context.Background()
	r.rows = map[int64]string{}
	var ids []int64
	for i := 0; ; i++ {
		select {
		case <-stop:
			r.stopped.Store(true)
			return
		default:
		}
		value := fmt.Sprintf("%s-%d", name, i)
		if i%2 == 0 || len(ids) == 0 {
			var id int64
			if err := pool.QueryRow(ctx, "INSERT INTO accounts ("+r.column+") VALUES ($1) RETURNING id", value).Scan(&id); err != nil {
				r.fail(fmt.Errorf("%s: insert %q: %w", name, value, err))
				return
			}
			ids = append(ids, id)
			r.rows[id] = value
		} else {
			id := ids[i%len(ids)]
			tag, err := pool.Exec(ctx, "UPDATE accounts SET "+r.column+" = $2 WHERE id = $1", id, value)
			if err == nil && tag.RowsAffected() != 1 {
				err = fmt.Errorf("row %d gone", id)
			}
			if err != nil {
				r.fail(fmt.Errorf("%s: rename %d to %q: %w", name, id, value, err))
				return
			}
			r.rows[id] = value
		}
		r.writes.Add(1)
	}
}

// TestExpandContract runs CONTRIBUTING's steps (testdata/expand) for
// renaming accounts.login to username, which adds username NOT NULL on the
// way, against the table under writes: the running release's writers (login)
// through every step but the contract, the next release's (username) from
// the expand step on, as a rolling deploy has both. No write fails, waits
// are bounded by the migrator's lock_timeout, and every row holds what its
// last write wrote.
func TestExpandContract(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := pgtest.NewPool(t)
	_, err := base.Exec(ctx, "CREATE SCHEMA expand")
	require.NoError(t, err)
	// A schema of its own: goose's table there starts empty.
	pool := pgtest.PoolFor(t, base.Config().ConnString(), func(c *pgxpool.Config) {
		c.ConnConfig.RuntimeParams["search_path"] = "expand"
		c.MaxConns = 8
	})
	fsys := os.DirFS("testdata/expand")
	names, versions := pgtest.Migrations(t, fsys)
	conn := openDB(t, pool)
	m, err := migrate.New(conn, fsys, migrate.Options{})
	require.NoError(t, err)
	step := func(i int) {
		t.Helper()
		results, err := m.UpTo(ctx, versions[i])
		require.NoError(t, err, names[i])
		require.Len(t, results, 1, names[i])
	}

	step(0)
	const before = 2500 // rows written before the new column: the backfill's
	_, err = pool.Exec(ctx, "INSERT INTO accounts (login) SELECT 'before-' || g FROM generate_series(1, $1::int) g", before)
	require.NoError(t, err)

	running := []*release{{column: "login"}, {column: "login"}}
	next := []*release{{}, {}} // their column is set when they start
	all := append(running[:len(running):len(running)], next...)
	stopRunning, stopNext := make(chan struct{}), make(chan struct{})
	var runningDone, nextDone sync.WaitGroup
	start := func(rs []*release, column, name string, stop chan struct{}, wg *sync.WaitGroup) {
		for i, r := range rs {
			r.column = column
			wg.Go(func() { r.run(pool, fmt.Sprintf("%s%d", name, i), stop) })
		}
	}
	// progress waits until every writer started wrote a few more rows, so
	// that each step runs between writes.
	progress := func() {
		t.Helper()
		var marks []int64
		for _, r := range all {
			marks = append(marks, r.writes.Load())
		}
		require.Eventually(t, func() bool {
			for i, r := range all {
				if r.failed() != nil {
					return true // reported below
				}
				if r.column != "" && !r.stopped.Load() && r.writes.Load() < marks[i]+20 {
					return false
				}
			}
			return true
		}, time.Minute, time.Millisecond)
		for _, r := range all {
			require.NoError(t, r.failed())
		}
	}

	start(running, "login", "running", stopRunning, &runningDone)
	progress()
	step(1) // expand: username and the trigger
	start(next, "username", "next", stopNext, &nextDone)
	progress()
	for i := 2; i < len(names)-1; i++ { // backfill, CHECK NOT VALID, VALIDATE, SET NOT NULL
		step(i)
		progress()
	}
	close(stopRunning) // the running release is gone: contract
	runningDone.Wait()
	step(len(names) - 1)
	progress()
	close(stopNext)
	nextDone.Wait()

	got := map[int64]string{}
	rows, err := pool.Query(ctx, "SELECT id, username FROM accounts")
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		var username string
		require.NoError(t, rows.Scan(&id, &username))
		got[id] = username
	}
	require.NoError(t, rows.Err())
	want := len(got)
	written := 0
	for _, r := range all {
		require.NoError(t, r.failed())
		for id, value := range r.rows {
			require.Equal(t, value, got[id], "row %d", id)
		}
		written += len(r.rows)
		require.Positive(t, r.writes.Load())
	}
	require.Equal(t, before+written, want, "no row lost, none added")
	var blank int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM accounts WHERE username LIKE 'before-%'").Scan(&blank))
	require.Equal(t, before, blank, "the backfill reached every row written before")
	var nullable string
	require.NoError(t, pool.QueryRow(ctx, `SELECT is_nullable FROM information_schema.columns
		WHERE table_schema = 'expand' AND table_name = 'accounts' AND column_name = 'username'`).Scan(&nullable))
	require.Equal(t, "NO", nullable)
}
