package migrate_test

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3/lock"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/db"
	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// TestFailedMigrationChangesNothing: a migration that fails halfway is rolled
// back whole (goose runs each in a transaction): neither its first statement
// nor its version stays.
func TestFailedMigrationChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	fsys := fstest.MapFS{
		"00001_ok.sql": {Data: []byte("-- +goose Up\nCREATE TABLE first_things (id int);\n-- +goose Down\nDROP TABLE first_things;\n")},
		"00002_broken.sql": {Data: []byte("-- +goose Up\nCREATE TABLE half_done (id int);\nALTER TABLE no_such_table ADD COLUMN x int;\n" +
			"-- +goose Down\nDROP TABLE half_done;\n")},
	}
	conn := openDB(t, pool)
	// A schema of its own, so goose's version table starts empty here.
	_, err := conn.ExecContext(ctx, "CREATE SCHEMA scratch; SET search_path TO scratch")
	require.NoError(t, err)
	conn.SetMaxOpenConns(1)
	p, err := migrate.NewProviderFS(conn, fsys)
	require.NoError(t, err)

	_, err = p.Up(ctx)
	require.ErrorContains(t, err, "no_such_table")
	version, err := p.GetDBVersion(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, version, "the failed migration's version is not recorded")
	var halfDone, first *string
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT to_regclass('scratch.half_done')::text, to_regclass('scratch.first_things')::text").Scan(&halfDone, &first))
	require.Nil(t, halfDone, "its first statement was rolled back with it")
	require.NotNil(t, first, "the migration before it stays")
}

// TestKilledMigratorFreesTheLock: a migrator that dies holding the migration
// lock (its session ends) does not block the next one.
func TestKilledMigratorFreesTheLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	p, err := migrate.NewProvider(openDB(t, pool))
	require.NoError(t, err)
	_, err = p.Down(ctx) // so that there is a migration to apply
	require.NoError(t, err)
	holder, err := pgx.Connect(ctx, pool.Config().ConnString())
	require.NoError(t, err)
	defer holder.Close(ctx)
	var pid int
	require.NoError(t, holder.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid))
	_, err = holder.Exec(ctx, "SELECT pg_advisory_lock($1)", lock.DefaultLockID)
	require.NoError(t, err, "a migrator takes the lock, then dies")

	done := make(chan error, 1)
	go func() {
		_, err := migrate.UpPool(ctx, pool)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("migrated while the lock was held: %v", err)
	case <-time.After(1500 * time.Millisecond):
	}
	_, err = pool.Exec(ctx, "SELECT pg_terminate_backend($1::integer)", pid)
	require.NoError(t, err)
	select {
	case err := <-done:
		require.NoError(t, err)
		version, err := p.GetDBVersion(ctx)
		require.NoError(t, err)
		_, versions := pgtest.Migrations(t, db.Migrations())
		require.Equal(t, versions[len(versions)-1], version, "up to the last migration")
	case <-time.After(30 * time.Second):
		t.Fatal("the next migrator still waits after the holder died")
	}
}
