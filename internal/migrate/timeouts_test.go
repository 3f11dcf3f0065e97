package migrate_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// plus is pgtest.Plus.
var plus = pgtest.Plus

// holdLock opens a session of its own that takes lock (a statement) in a
// transaction it keeps open until the test ends, and returns its pid.
func holdLock(t *testing.T, pool *pgxpool.Pool, lock string) int {
	t.Helper()
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, pool.Config().ConnString())
	require.NoError(t, err)
	t.Cleanup(func() { holder.Close(context.WithoutCancel(ctx)) })
	var pid int
	require.NoError(t, holder.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid))
	_, err = holder.Exec(ctx, "BEGIN")
	require.NoError(t, err)
	_, err = holder.Exec(ctx, lock)
	require.NoError(t, err)
	return pid
}

// applied says whether version is recorded in goose's table.
func applied(t *testing.T, pool *pgxpool.Pool, version string) bool {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(),
		"SELECT count(*) FROM goose_db_version WHERE version_id = $1::bigint", version).Scan(&n))
	return n > 0
}

// TestLockTimeout: a migration that needs a lock another session holds
// gives up after its lock_timeout with a *TimeoutError (ErrLockTimeout)
// naming the migration, the lock and the session holding it, and is neither
// applied nor recorded; the migrator's connection goes back to the pool
// without its bounds.
func TestLockTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	// A reader in a long transaction: ADD COLUMN's ACCESS EXCLUSIVE waits for it.
	holder := holdLock(t, pool, "SELECT count(*) FROM users WHERE name <> 'not-in-any-error'")
	fsys, added := plus(t, "-- +goose Up\nALTER TABLE users ADD COLUMN nickname text;\n\n"+
		"-- +goose Down\nALTER TABLE users DROP COLUMN nickname;\n")

	conn := openDB(t, pool)
	conn.SetMaxOpenConns(2) // the migration's, and the watch's
	// Without a lock_timeout it would wait as long as the holder: until this.
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err := migrate.UpOptions(waitCtx, conn, fsys, migrate.Options{LockTimeout: time.Second})
	t.Log(err)
	require.ErrorIs(t, err, migrate.ErrLockTimeout)
	require.NotErrorIs(t, err, migrate.ErrStatementTimeout)
	var timeout *migrate.TimeoutError
	require.ErrorAs(t, err, &timeout)
	require.Equal(t, added[0], timeout.Migration)
	require.Equal(t, time.Second, timeout.Limit)
	require.Equal(t, "AccessExclusiveLock on relation users", timeout.Lock)
	require.Contains(t, timeout.Holder, fmt.Sprintf("pid %d (idle in transaction): SELECT", holder))
	require.NotContains(t, err.Error(), "not-in-any-error", "the holder's statement may quote a value: never its text")
	var pg *pgconn.PgError
	require.ErrorAs(t, err, &pg)
	require.Equal(t, "55P03", pg.Code)
	require.ErrorContains(t, err, "migration "+added[0]+" waited 1s for AccessExclusiveLock on relation users, held by pid")

	require.False(t, applied(t, pool, added[0][:5]), "not recorded")
	var column bool
	require.NoError(t, pool.QueryRow(ctx,
		"SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'nickname')").Scan(&column))
	require.False(t, column, "not applied")

	// The bounds were the migrator's session's only.
	c, err := conn.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	var lockTimeout, statementTimeout string
	require.NoError(t, c.QueryRowContext(ctx, "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')").
		Scan(&lockTimeout, &statementTimeout))
	var def string
	require.NoError(t, c.QueryRowContext(ctx, "SELECT reset_val FROM pg_settings WHERE name = 'lock_timeout'").Scan(&def))
	require.Equal(t, def, lockTimeout)
}

// TestStatementTimeout: a transactional migration that runs past its
// statement_timeout is rolled back with ErrStatementTimeout; a NO
// TRANSACTION one (a concurrent build) runs unbounded.
func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := migrate.Options{StatementTimeout: 500 * time.Millisecond}
	t.Run("Transaction", func(t *testing.T) {
		t.Parallel()
		pool := pgtest.NewPool(t)
		fsys, added := plus(t, "-- +goose Up\nCREATE TABLE slow_things (id int);\nSELECT pg_sleep(3);\n\n-- +goose Down\nDROP TABLE slow_things;\n")
		_, err := migrate.UpOptions(ctx, openDB(t, pool), fsys, opts)
		require.ErrorIs(t, err, migrate.ErrStatementTimeout)
		require.NotErrorIs(t, err, migrate.ErrLockTimeout)
		var timeout *migrate.TimeoutError
		require.ErrorAs(t, err, &timeout)
		require.Equal(t, added[0], timeout.Migration)
		require.ErrorContains(t, err, "migration ran past its statement_timeout: migration "+added[0]+", after 500ms")
		require.False(t, applied(t, pool, added[0][:5]))
		var table *string
		require.NoError(t, pool.QueryRow(ctx, "SELECT to_regclass('slow_things')::text").Scan(&table))
		require.Nil(t, table, "rolled back")
	})
	t.Run("NoTransaction", func(t *testing.T) {
		t.Parallel()
		pool := pgtest.NewPool(t)
		fsys, added := plus(t, "-- +goose NO TRANSACTION\n-- +goose Up\nSELECT pg_sleep(1);\n\n-- +goose Down\nSELECT 1;\n")
		_, err := migrate.UpOptions(ctx, openDB(t, pool), fsys, opts)
		require.NoError(t, err)
		require.True(t, applied(t, pool, added[0][:5]))
	})
}
