package fakedata_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/fakedata"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestHooks: PerPost gives rows about the graph's own posts, PerUser rows
// of its user with an earlier user (none for the first), and All runs both.
func TestHooks(t *testing.T) {
	t.Parallel()
	notes := repo.ExtraTable{Name: "notes", Columns: []string{"user_id", "post_id"}}
	pairs := repo.ExtraTable{Name: "pairs", Columns: []string{"user_id", "other_id"}}
	c := cfg
	c.Tables = []repo.ExtraTable{notes, pairs}
	c.Extra = fakedata.All(
		fakedata.PerPost(notes, 1, func(_ *rand.Rand, post repo.Ref) []any { return []any{repo.ThisUser, post} }),
		nil,
		fakedata.PerUser(pairs, 1, func(r *rand.Rand, n int) []any {
			other, ok := fakedata.EarlierUser(r, n)
			if !ok {
				return []any{repo.ThisUser, nil}
			}
			return []any{repo.ThisUser, other}
		}))
	gs := collect(fakedata.New(c), 50)
	for n, g := range gs {
		require.Len(t, g.Rows, len(g.Posts)+1)
		for i := range g.Posts {
			require.Equal(t, repo.TableRow{Table: "notes", Values: []any{repo.ThisUser, repo.PostOf(i)}}, g.Rows[i])
		}
		last := g.Rows[len(g.Posts)]
		require.Equal(t, "pairs", last.Table)
		if n == 0 {
			require.Nil(t, last.Values[1], "the first graph has no earlier user")
			continue
		}
		other := last.Values[1].(repo.Ref)
		k := 0
		for ; k <= n && other != repo.UserBefore(k); k++ {
		}
		require.True(t, k >= 1 && k <= n, "graph %d: %v is one of the %d before it", n, other, n)
	}
	require.Equal(t, gs, collect(fakedata.New(c), 50), "the same seed, the same rows")

	none := c
	none.Extra = fakedata.PerPost(notes, 0, func(*rand.Rand, repo.Ref) []any { panic("never called") })
	for _, g := range collect(fakedata.New(none), 20) {
		require.Empty(t, g.Rows, "chance 0: no row")
	}
}
