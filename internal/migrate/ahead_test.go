package migrate_test

import (
	"context"
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/db"
	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// TestAhead: a database with a migration past this binary's latest (a newer
// build migrated it) makes Up fail with an *AheadError naming it, nothing
// applied; Unknown lists it, and nothing on a database goose never touched.
func TestAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	conn := openDB(t, pool)
	p, err := migrate.NewProvider(conn)
	require.NoError(t, err)
	_, versions := pgtest.Migrations(t, db.Migrations())
	latest := versions[len(versions)-1]

	unknown, err := migrate.Unknown(ctx, conn, p)
	require.NoError(t, err)
	require.Empty(t, unknown)
	require.NoError(t, migrate.CheckKnown(ctx, conn, p))

	_, err = pool.Exec(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", latest+1)
	require.NoError(t, err)
	unknown, err = migrate.Unknown(ctx, conn, p)
	require.NoError(t, err)
	require.Len(t, unknown, 1)
	require.Equal(t, latest+1, unknown[0].Source.Version)
	require.Equal(t, goose.StateApplied, unknown[0].State)

	count := func() (n int) {
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version").Scan(&n))
		return n
	}
	before := count()
	results, err := migrate.Up(ctx, conn)
	require.ErrorIs(t, err, migrate.ErrAhead)
	var ahead *migrate.AheadError
	require.ErrorAs(t, err, &ahead)
	require.Equal(t, &migrate.AheadError{Unknown: []int64{latest + 1}, Latest: latest}, ahead)
	require.Empty(t, results)
	require.Equal(t, before, count())

	t.Run("NoVersionTable", func(t *testing.T) {
		_, err := pool.Exec(ctx, "DROP TABLE goose_db_version")
		require.NoError(t, err)
		unknown, err := migrate.Unknown(ctx, conn, p)
		require.NoError(t, err)
		require.Empty(t, unknown)
		var exists bool
		require.NoError(t, pool.QueryRow(ctx, "SELECT to_regclass('goose_db_version') IS NOT NULL").Scan(&exists))
		require.False(t, exists, "Unknown creates nothing")
	})
}

// TestUnknownBelowLatest: a version the binary lacks below its latest (a
// branch's migration, one renumbered or removed) is not called "ahead":
// ErrUnknownVersion, saying so, and nothing applied.
func TestUnknownBelowLatest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	conn := openDB(t, pool)
	// This binary's latest is 10 past the database's; a branch's migration
	// took a number between.
	fsys, _ := plus(t)
	_, versions := pgtest.Migrations(t, db.Migrations())
	latest := versions[len(versions)-1] + 10
	fsys.(fstest.MapFS)[fmt.Sprintf("%05d_later.sql", latest)] = &fstest.MapFile{Data: []byte("-- +goose Up\nSELECT 1;\n")}
	between := latest - 5
	_, err := pool.Exec(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", between)
	require.NoError(t, err)

	results, err := migrate.UpFS(ctx, conn, fsys)
	require.ErrorIs(t, err, migrate.ErrUnknownVersion)
	require.NotErrorIs(t, err, migrate.ErrAhead)
	require.ErrorContains(t, err, fmt.Sprintf("the database has a migration this binary does not know: migration %d is applied there, "+
		"below this binary's latest (%d), and not among its migrations", between, latest))
	require.Empty(t, results)
	require.False(t, applied(t, pool, fmt.Sprint(latest)), "nothing applied")

	// With one past the latest too, the error says both.
	_, err = pool.Exec(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", latest+1)
	require.NoError(t, err)
	_, err = migrate.UpFS(ctx, conn, fsys)
	require.ErrorIs(t, err, migrate.ErrUnknownVersion)
	require.ErrorIs(t, err, migrate.ErrAhead)
}

// TestAheadCheckedUnderLock: a newer build's migrator that applies its
// migration while this one waits for the migration lock is seen: the check
// of unknown versions runs under the lock, so this one applies nothing.
func TestAheadCheckedUnderLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	p, err := migrate.NewProvider(openDB(t, pool))
	require.NoError(t, err)
	last, err := p.Down(ctx) // so that this binary has a migration to apply
	require.NoError(t, err)
	_, versions := pgtest.Migrations(t, db.Migrations())
	latest := versions[len(versions)-1]

	// The newer migrator holds the lock (goose's session lock id) ...
	newer, err := pgx.Connect(ctx, pool.Config().ConnString())
	require.NoError(t, err)
	defer newer.Close(ctx)
	_, err = newer.Exec(ctx, "SELECT pg_advisory_lock($1)", lock.DefaultLockID)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := migrate.UpPool(ctx, pool)
		done <- err
	}()
	// ... while this one waits for it (it polls every second), and
	// records its own migrations before letting go.
	require.Eventually(t, func() bool {
		var waiting bool
		require.NoError(t, pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE '%pg_try_advisory_lock%' AND pid <> pg_backend_pid())`).Scan(&waiting))
		return waiting
	}, 30*time.Second, 50*time.Millisecond, "the migrator asks for the lock")
	_, err = newer.Exec(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true), ($2, true)",
		last.Source.Version, latest+1)
	require.NoError(t, err)
	_, err = newer.Exec(ctx, "SELECT pg_advisory_unlock($1)", lock.DefaultLockID)
	require.NoError(t, err)

	select {
	case err := <-done:
		require.ErrorIs(t, err, migrate.ErrAhead)
		require.ErrorContains(t, err, "nothing applied")
	case <-time.After(30 * time.Second):
		t.Fatal("the migrator still waits after the lock was let go")
	}
	var n int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id = $1", last.Source.Version).Scan(&n))
	require.Equal(t, 1, n, "applied once, by the newer migrator, not again")
}
