package migrate_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

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

// TestDownThenConcurrentUp rolls every migration back (so each Down section
// works), then runs five migrators at once: the session lock makes each
// migration apply exactly once.
func TestDownThenConcurrentUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t, func(c *pgxpool.Config) { c.MaxConns = 10 })
	all := []string{"addresses", "post_tags", "posts", "profiles", "tags", "users"}
	require.Equal(t, all, tables(t, pool), "the test database comes migrated")

	conn := openDB(t, pool)
	p, err := migrate.NewProvider(conn)
	require.NoError(t, err)
	_, err = p.DownTo(ctx, 0)
	require.NoError(t, err)
	require.Empty(t, tables(t, pool))

	const migrators = 5
	applied := make([]int, migrators)
	var wg sync.WaitGroup
	for i := range migrators {
		wg.Go(func() {
			results, err := migrate.UpPool(ctx, pool)
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
	require.Equal(t, 2, total, "each of the two migrations applied once, by one migrator: %v", applied)
	require.Equal(t, all, tables(t, pool))

	var versions int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&versions))
	require.Equal(t, 2, versions)
}
