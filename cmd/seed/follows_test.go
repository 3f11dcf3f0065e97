package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// TestSeedFollows: both loads generate the same follows, each edge with
// its mirror, skewed (the most followed user has many times the average),
// and on Citus every worker that holds shards of follows gets rows.
func TestSeedFollows(t *testing.T) {
	t.Parallel()
	type edge struct {
		follower, followee int64
		at                 time.Time
	}
	edges := map[string]map[edge]bool{}
	for _, load := range []string{"initial", "batched"} {
		url := pgtest.URL(t)
		code, _, errOut := seedRun(t, "--database-url", url, "--users", "2000", "--seed", "5", "--load", load, "--batch-size", "700")
		require.Equal(t, 0, code, errOut)
		require.Contains(t, errOut, ", follows and your tables ")
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		require.NoError(t, err)
		defer conn.Close(ctx)
		read := func(sql string) map[edge]bool {
			rows, err := conn.Query(ctx, sql)
			require.NoError(t, err)
			out := map[edge]bool{}
			for rows.Next() {
				var e edge
				require.NoError(t, rows.Scan(&e.follower, &e.followee, &e.at))
				out[e] = true
			}
			require.NoError(t, rows.Err())
			return out
		}
		follows := read("SELECT user_id, followee_id, created_at FROM follows")
		require.Equal(t, follows, read("SELECT follower_id, user_id, created_at FROM followers"), "%s: every edge has its mirror", load)
		edges[load] = follows

		followers := map[int64]int{}
		for e := range follows {
			require.NotEqual(t, e.follower, e.followee)
			followers[e.followee]++
		}
		most := 0
		for _, n := range followers {
			most = max(most, n)
		}
		mean := float64(len(follows)) / 2000
		require.Greater(t, mean, 3.0, "%s: about 5 follows per user", load)
		require.Greater(t, float64(most), 20*mean, "%s: a few users have many followers", load)

		if pgtest.Citus() {
			var withRows, nodes int
			require.NoError(t, conn.QueryRow(ctx, `
				SELECT count(DISTINCT s.nodeport) FILTER (WHERE r.result::bigint > 0), count(DISTINCT s.nodeport)
				FROM citus_shards s JOIN run_command_on_shards('follows', 'SELECT count(*) FROM %s') r USING (shardid)
				WHERE s.table_name = 'follows'::regclass`).Scan(&withRows, &nodes))
			require.GreaterOrEqual(t, nodes, 2)
			require.Equal(t, nodes, withRows, "%s: every worker holding shards of follows has some of its rows", load)
		}
	}
	require.Equal(t, edges["initial"], edges["batched"], "both loads generate the same follows")
}
