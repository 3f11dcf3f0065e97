package migrate_test

import (
	"context"
	"io/fs"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/db"
	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// tables lists the tables of the public schema but goose's own.
func tables(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT tablename FROM pg_tables
		WHERE schemaname = 'public' AND tablename <> 'goose_db_version' ORDER BY tablename`)
	require.NoError(t, err)
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	require.NoError(t, rows.Err())
	return names
}

// schemas are the migrations the tests run on: the embedded ones, and those
// with one more table, as a user adds one (pgtest.Grown), to show that the
// checks hold for any schema, not only for ours.
func schemas(t *testing.T) map[string]struct {
	fsys    fs.FS
	newPool func(testing.TB, ...func(*pgxpool.Config)) *pgxpool.Pool
} {
	grown, _ := pgtest.Grown(t)
	return map[string]struct {
		fsys    fs.FS
		newPool func(testing.TB, ...func(*pgxpool.Config)) *pgxpool.Pool
	}{
		"Embedded": {db.Migrations(), pgtest.NewPool},
		"Grown":    {grown, pgtest.NewGrownPool},
	}
}

// TestDownThenConcurrentUp rolls every migration back (so each Down section
// works and leaves no table behind), then runs five migrators at once: the
// session lock makes each migration apply exactly once, and the tables come
// back as they were.
func TestDownThenConcurrentUp(t *testing.T) {
	t.Parallel()
	for name, schema := range schemas(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := schema.newPool(t, func(c *pgxpool.Config) { c.MaxConns = 10 })
			migrations, _ := pgtest.Migrations(t, schema.fsys)
			all := tables(t, pool)
			require.NotEmpty(t, all, "the test database comes migrated")

			conn := openDB(t, pool)
			p, err := migrate.NewProviderFS(conn, schema.fsys)
			require.NoError(t, err)
			down, err := p.DownTo(ctx, 0)
			require.NoError(t, err)
			require.Len(t, down, len(migrations), "every migration rolled back")
			require.Empty(t, tables(t, pool))

			const migrators = 5
			applied := make([]int, migrators)
			var wg sync.WaitGroup
			for i := range migrators {
				wg.Go(func() {
					conn := stdlib.OpenDBFromPool(pool)
					defer conn.Close()
					results, err := migrate.UpFS(ctx, conn, schema.fsys)
					if err != nil {
						t.Error(err)
					}
					applied[i] = len(results)
				})
			}
			wg.Wait()
			total := 0
			for _, n := range applied {
				total += n
			}
			require.Equal(t, len(migrations), total, "each migration applied once, by one migrator: %v", applied)
			require.Equal(t, all, tables(t, pool))

			var versions int
			require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&versions))
			require.Equal(t, len(migrations), versions)
		})
	}
}
