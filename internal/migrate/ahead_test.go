package migrate_test

import (
	"context"
	"testing"

	"github.com/pressly/goose/v3"
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
