package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/fakedata"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestSeedYourTable: a table of the user's (pgtest.Grown's bookmarks),
// declared and generated as tables.go says (here a test's extension), is
// filled by the initial load and by the batched one alike.
func TestSeedYourTable(t *testing.T) {
	t.Parallel()
	grown, _ := pgtest.Grown(t)
	bookmarks := repo.ExtraTable{Name: pgtest.GrownBookmarks, Columns: []string{"user_id", "post_user_id", "post_id", "note"}}
	ext := extension{tables: []repo.ExtraTable{bookmarks}, rows: fakedata.PerPost(bookmarks, 0.5, func(_ *rand.Rand, post repo.Ref) []any {
		return []any{repo.ThisUser, repo.ThisUser, post, "read later"}
	})}
	ctx := context.Background()
	got := map[string]string{}
	for _, load := range []string{loadInitial, loadBatched} {
		url := pgtest.GrownURL(t)
		var out, errOut bytes.Buffer
		code := runWith(ctx, grown, ext, []string{"--database-url", url, "--users", "30", "--seed", "5", "--load", load},
			&out, &errOut, false)
		require.Zero(t, code, errOut.String())
		require.Contains(t, errOut.String(), ", follows and your tables ", load)
		conn, err := pgx.Connect(ctx, url)
		require.NoError(t, err)
		var rows string
		err = conn.QueryRow(ctx, "SELECT coalesce(string_agg(format('%s %s %s %s', user_id, post_user_id, post_id, note), ';' "+
			"ORDER BY user_id, post_id), '') FROM "+pgtest.GrownBookmarks).Scan(&rows)
		require.NoError(t, conn.Close(ctx))
		require.NoError(t, err)
		require.NotEmpty(t, rows, load)
		got[load] = rows
	}
	require.Equal(t, got[loadBatched], got[loadInitial])
}

// TestSeedTableAddsEach: two seedTable calls (as two files' `var _ =
// seedTable(...)` make them) both reach the seed, in the order called, each
// table with its hook (not in parallel: it sets the seed's own variables,
// which the parallel tests read once it is done).
func TestSeedTableAddsEach(t *testing.T) {
	tables, hooks := seedTables, seedHooks
	t.Cleanup(func() { seedTables, seedHooks = tables, hooks })
	seedTables, seedHooks = nil, nil
	a, b := repo.ExtraTable{Name: "a", Columns: []string{"user_id"}}, repo.ExtraTable{Name: "b", Columns: []string{"user_id"}}
	for _, tb := range []repo.ExtraTable{a, b} {
		seedTable(tb, func(_ *rand.Rand, _ int, g *repo.UserGraph) {
			g.Rows = append(g.Rows, repo.TableRow{Table: tb.Name, Values: []any{repo.ThisUser}})
		})
	}
	ext := seedExtension()
	require.Equal(t, []repo.ExtraTable{a, b}, ext.tables)
	var g repo.UserGraph
	ext.rows(rand.New(rand.NewPCG(1, 2)), 0, &g)
	require.Equal(t, []repo.TableRow{{Table: "a", Values: []any{repo.ThisUser}}, {Table: "b", Values: []any{repo.ThisUser}}}, g.Rows)
}
