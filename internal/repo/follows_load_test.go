package repo_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestUserBefore: a row that relates two users of a load (a follow) names
// the other by repo.UserBefore, which both loads resolve to that user's id,
// across batches too.
func TestUserBefore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	follows := repo.ExtraTable{Name: pgtest.GrownFollows, Columns: []string{"follower_id", "followee_id"}}
	var gs []repo.UserGraph
	for i := range 7 {
		g := repo.UserGraph{User: repo.NewUser{Name: "Follower", Age: 30}}
		for k := 1; k <= i && k <= 3; k++ { // the three users before
			g.Rows = append(g.Rows, repo.TableRow{Table: follows.Name, Values: []any{repo.ThisUser, repo.UserBefore(k)}})
		}
		gs = append(gs, g)
	}
	dump := func(pool *pgxpool.Pool) [][2]int64 {
		rows, err := pool.Query(ctx, "SELECT follower_id, followee_id FROM "+pgtest.GrownFollows+" ORDER BY 1, 2")
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]int64, error) {
			var e [2]int64
			return e, r.Scan(&e[0], &e[1])
		})
		require.NoError(t, err)
		return out
	}
	batched, initial := pgtest.NewGrownPool(t), pgtest.NewGrownPool(t)
	res, err := repo.New(batched).BulkInsertGraphs(ctx, seqGraphs(gs), repo.BulkOptions{BatchSize: 2, Tables: []repo.ExtraTable{follows}})
	require.NoError(t, err)
	require.Equal(t, int64(0+1+2+3+3+3+3), res.Extra)
	_, err = repo.New(initial).InitialLoadGraphs(ctx, seqGraphs(gs), repo.InitialLoadOptions{Tables: []repo.ExtraTable{follows}})
	require.NoError(t, err)
	var ids []int64
	rows, err := batched.Query(ctx, "SELECT id FROM users ORDER BY id")
	require.NoError(t, err)
	ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	var want [][2]int64
	for i := range gs {
		for k := min(i, 3); k >= 1; k-- {
			want = append(want, [2]int64{ids[i], ids[i-k]})
		}
	}
	require.Equal(t, want, dump(batched))
	require.Equal(t, want, dump(initial), "both loads resolve UserBefore alike")
}
