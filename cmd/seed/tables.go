package main

import (
	"github.com/inkwell-dev/inkwell/internal/fakedata"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// Tables of yours that the seed fills with the generated users
// (CONTRIBUTING, "Adding a table to the seed"): each file of yours in
// cmd/seed declares its table and the hook that adds its rows to each
// generated graph (g.Rows; a value may be repo.ThisUser, repo.PostOf(i) or
// repo.UserBefore(k)) with a package-level var:
//
//	var _ = seedTable(revisions, fakedata.PerPost(revisions, 0.5, ...))
//
// Both loads, initial and batched, take them, in the transaction of their
// users, each table's rows after those of the tables it refers to (the
// catalog's foreign keys say which), whatever the files' order.
var (
	seedTables []repo.ExtraTable
	seedHooks  []fakedata.Hook
)

// seedTable adds a table of yours and its rows' hook to the seed.
func seedTable(t repo.ExtraTable, rows fakedata.Hook) bool {
	seedTables = append(seedTables, t)
	seedHooks = append(seedHooks, rows)
	return true
}

// seedExtension is the tables of yours and their hooks, as one extension.
func seedExtension() extension {
	return extension{tables: seedTables, rows: fakedata.All(seedHooks...)}
}

// extension is what the seed adds to the generated graphs: seedExtension,
// or a test's.
type extension struct {
	tables []repo.ExtraTable
	rows   fakedata.Hook
}
