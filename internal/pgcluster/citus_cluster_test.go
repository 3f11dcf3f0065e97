//go:build citus

// The tests that need the citus extension installed: make test-citus runs
// them (-tags citus); make test, which needs no Citus, does not build them.

package pgcluster

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestStartCitus starts a coordinator and two workers, makes a database as
// tests do, and distributes a table in it: its shards land on both workers
// and a row written through the coordinator reads back.
func TestStartCitus(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "inkwell-citus-test-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	c, err := StartCitus(ctx, dir, 0, Options{Throwaway: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Stop(context.Background())) })
	require.Len(t, c.Workers, CitusWorkers)

	require.NoError(t, c.CreateDatabase(ctx, "distributed"))
	url, err := c.URL("distributed")
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, s := range []string{
		"CREATE TABLE things (id bigint PRIMARY KEY, name text NOT NULL)",
		"SELECT create_distributed_table('things', 'id')",
		"INSERT INTO things SELECT g, 'thing ' || g FROM generate_series(1, 100) g",
	} {
		_, err := conn.Exec(ctx, s)
		require.NoError(t, err, s)
	}
	var nodes, rows int
	require.NoError(t, conn.QueryRow(ctx,
		"SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'things'::regclass").Scan(&nodes))
	require.Equal(t, CitusWorkers, nodes)
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM things").Scan(&rows))
	require.Equal(t, 100, rows)
	var name string
	require.NoError(t, conn.QueryRow(ctx, "SELECT name FROM things WHERE id = 42").Scan(&name))
	require.Equal(t, "thing 42", name)
}
