package migrate_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// concurrentIndex builds an index on users without blocking writes (in
// its own file: CONCURRENTLY cannot run in a transaction); IF NOT EXISTS
// so that a re-run after a failure part way is possible (make lint asks for
// it). The expression divides by zero for a user aged 42.
const concurrentIndex = `-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_age_inverse_idx ON users ((1 / (age - 42)));

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS users_age_inverse_idx;
`

// indexValid says whether the index exists, and whether it is valid.
func indexValid(t *testing.T, pool *pgxpool.Pool, name string) (exists, valid bool) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `
		SELECT count(*) > 0, coalesce(bool_and(i.indisvalid), false)
		FROM pg_index i WHERE i.indexrelid = to_regclass($1)`, name).Scan(&exists, &valid)
	require.NoError(t, err)
	return exists, valid
}

// TestConcurrentIndex: a NO TRANSACTION migration builds its index with
// CREATE INDEX CONCURRENTLY through the migrator (its session lock and
// bounds), and rolls back with DROP INDEX CONCURRENTLY.
func TestConcurrentIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	fsys, added := plus(t, concurrentIndex)
	_, err := pool.Exec(ctx, "INSERT INTO users (name, age) VALUES ('Ada', 36), ('Grace', 45)")
	require.NoError(t, err)

	results, err := migrate.UpFS(ctx, openDB(t, pool), fsys)
	require.NoError(t, err)
	require.Len(t, results, 1)
	require.Equal(t, added[0], results[0].Source.Path)
	exists, valid := indexValid(t, pool, "users_age_inverse_idx")
	require.True(t, exists && valid)
	require.True(t, applied(t, pool, added[0][:5]))
	invalid, err := migrate.InvalidIndexes(ctx, openDB(t, pool))
	require.NoError(t, err)
	require.Empty(t, invalid)

	m, err := migrate.NewProviderFS(openDB(t, pool), fsys)
	require.NoError(t, err)
	_, err = m.Down(ctx)
	require.NoError(t, err)
	exists, _ = indexValid(t, pool, "users_age_inverse_idx")
	require.False(t, exists)
}

// TestFailedConcurrentIndex: a concurrent build that fails part way (a row
// it cannot index) leaves an INVALID index behind, which PostgreSQL does
// not roll back: the migration is not recorded, InvalidIndexes and
// CheckIndexes name the index, and a re-run, which IF NOT EXISTS makes
// skip the index and record the migration, still fails Up with
// ErrInvalidIndex until the index is dropped.
func TestFailedConcurrentIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	conn := openDB(t, pool)
	fsys, added := plus(t, concurrentIndex)
	_, err := pool.Exec(ctx, "INSERT INTO users (name, age) VALUES ('Ada', 36), ('Forty-two', 42)")
	require.NoError(t, err)

	_, err = migrate.UpFS(ctx, conn, fsys)
	require.ErrorContains(t, err, "division by zero")
	require.False(t, applied(t, pool, added[0][:5]), "not recorded")
	exists, valid := indexValid(t, pool, "users_age_inverse_idx")
	require.True(t, exists, "a failed concurrent build leaves its index")
	require.False(t, valid)

	invalid, err := migrate.InvalidIndexes(ctx, conn)
	require.NoError(t, err)
	require.Equal(t, []migrate.InvalidIndex{{Index: "users_age_inverse_idx", Table: "users"}}, invalid)
	err = migrate.CheckIndexes(ctx, conn)
	require.ErrorIs(t, err, migrate.ErrInvalidIndex)
	require.ErrorContains(t, err, "an index is INVALID: users_age_inverse_idx on users: a concurrent build failed")

	// The user is fixed, the migration run again: IF NOT EXISTS skips the
	// INVALID index, goose records the migration, and Up says what is left.
	_, err = pool.Exec(ctx, "UPDATE users SET age = 43 WHERE age = 42")
	require.NoError(t, err)
	_, err = migrate.UpFS(ctx, conn, fsys)
	require.ErrorIs(t, err, migrate.ErrInvalidIndex)
	require.True(t, applied(t, pool, added[0][:5]))

	// Dropped and built again, it is valid and Up is clean.
	m, err := migrate.NewProviderFS(conn, fsys)
	require.NoError(t, err)
	_, err = m.Down(ctx)
	require.NoError(t, err)
	_, err = migrate.UpFS(ctx, conn, fsys)
	require.NoError(t, err)
	exists, valid = indexValid(t, pool, "users_age_inverse_idx")
	require.True(t, exists && valid)
}

// TestConcurrentIndexWaitsForOldTransactions: a concurrent build waits for
// every transaction older than it (they hold none of its locks; writes go
// on), and that wait is bounded by lock_timeout too: ErrLockTimeout naming
// the transaction, and ErrInvalidIndex for the index it leaves.
func TestConcurrentIndexWaitsForOldTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	holder := holdLock(t, pool, "INSERT INTO users (name, age) VALUES ('Ada', 36)")
	fsys, added := plus(t, concurrentIndex)
	conn := openDB(t, pool)
	_, err := migrate.UpOptions(ctx, conn, fsys, migrate.Options{LockTimeout: time.Second})
	require.ErrorIs(t, err, migrate.ErrLockTimeout)
	require.ErrorIs(t, err, migrate.ErrInvalidIndex)
	var timeout *migrate.TimeoutError
	require.ErrorAs(t, err, &timeout)
	require.Equal(t, added[0], timeout.Migration)
	require.Contains(t, timeout.Lock, "ShareLock on the end of transaction")
	require.Contains(t, timeout.Holder, fmt.Sprintf("pid %d (idle in transaction)", holder))
	require.False(t, applied(t, pool, added[0][:5]))
}
