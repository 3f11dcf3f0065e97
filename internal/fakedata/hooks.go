package fakedata

import (
	"math/rand/v2"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// Hook adds rows of tables of the user's own to a generated graph
// (Config.Extra): r is its own, n the number of graphs made before g.
type Hook = func(r *rand.Rand, n int, g *repo.UserGraph)

// All is one hook running hooks in order (nil ones skipped): one Config.Extra
// for several tables.
func All(hooks ...Hook) Hook {
	return func(r *rand.Rand, n int, g *repo.UserGraph) {
		for _, h := range hooks {
			if h != nil {
				h(r, n, g)
			}
		}
	}
}

// PerPost returns a hook that adds, for each post of a graph, with chance
// p, one row of t with values(r, post): post is the post's repo.PostOf,
// which with repo.ThisUser before it is the post's key (user_id, id).
func PerPost(t repo.ExtraTable, p float64, values func(r *rand.Rand, post repo.Ref) []any) Hook {
	return func(r *rand.Rand, _ int, g *repo.UserGraph) {
		for i := range g.Posts {
			if r.Float64() < p {
				g.Rows = append(g.Rows, repo.TableRow{Table: t.Name, Values: values(r, repo.PostOf(i))})
			}
		}
	}
}

// PerUser returns a hook that adds to a graph, with chance p, one row of t
// with values(r, n): repo.ThisUser is the graph's user, EarlierUser(r, n)
// another.
func PerUser(t repo.ExtraTable, p float64, values func(r *rand.Rand, n int) []any) Hook {
	return func(r *rand.Rand, n int, g *repo.UserGraph) {
		if r.Float64() < p {
			g.Rows = append(g.Rows, repo.TableRow{Table: t.Name, Values: values(r, n)})
		}
	}
}

// EarlierUser is a user of a graph made before this one (repo.UserBefore),
// picked uniformly from the n before it; false for the first graph, which
// has none.
func EarlierUser(r *rand.Rand, n int) (repo.Ref, bool) {
	if n < 1 {
		return repo.Ref{}, false
	}
	return repo.UserBefore(1 + r.IntN(n)), true
}
