package main

import (
	"math/rand/v2"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// Tables of yours that the seed fills with the generated users
// (CONTRIBUTING, "Adding a table to the seed"): declare each in seedTables,
// and add its rows to each generated graph in seedRows (g.Rows; a value may
// be repo.ThisUser or repo.PostOf(i)). Both loads, initial and batched, take
// them, in the transaction of their users.
var (
	seedTables []repo.ExtraTable
	seedRows   func(r *rand.Rand, n int, g *repo.UserGraph)
)

// extension is what the seed adds to the generated graphs: seedTables and
// seedRows, or a test's.
type extension struct {
	tables []repo.ExtraTable
	rows   func(r *rand.Rand, n int, g *repo.UserGraph)
}
