package fakedata

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// FollowTables declares the follows relation's two tables (migration
// 00013) for the loads (repo.BulkOptions.Tables,
// repo.InitialLoadOptions.Tables): each edge is a row of follows with its
// follower and its mirror in followers with its followee, as repo.Follow
// writes them.
var FollowTables = []repo.ExtraTable{
	{Name: "follows", Columns: []string{"user_id", "followee_id", "created_at"}},
	{Name: "followers", Columns: []string{"user_id", "follower_id", "created_at"}},
}

// followsSince is when the generated follows begin; each is made within a
// year after it (a fixed date: the same seed gives the same rows).
var followsSince = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Follows returns a hook for Config.Extra that makes each generated user
// follow 0 to 2*perUser (perUser on average) of the users generated before
// them, skewed as a social graph is: the n-th user picks user
// floor(n * u^3), u uniform in [0, 1), so that the first users are followed
// by a large share of all (at a million users the first by tens of
// thousands) and most by few or none. Each edge is two rows of
// FollowTables, the other user named by repo.UserBefore.
func Follows(perUser int) func(r *rand.Rand, n int, g *repo.UserGraph) {
	return func(r *rand.Rand, n int, g *repo.UserGraph) {
		want := min(r.IntN(2*perUser+1), n)
		var picked []int
		for len(picked) < want {
			j := int(float64(n) * math.Pow(r.Float64(), 3))
			if j >= n || slices.Contains(picked, j) {
				continue
			}
			picked = append(picked, j)
			at := followsSince.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
			other := repo.UserBefore(n - j)
			g.Rows = append(g.Rows,
				repo.TableRow{Table: FollowTables[0].Name, Values: []any{repo.ThisUser, other, at}},
				repo.TableRow{Table: FollowTables[1].Name, Values: []any{other, repo.ThisUser, at}})
		}
	}
}
