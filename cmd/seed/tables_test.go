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
