package repo

// Loading related rows. A relation says where parents keep their children;
// the two strategies fill it the same way:
//
//   - SelectIn: the parents' query and the children's query, which finds the
//     children from the parents' query's arguments (a page's, an id, a name),
//     not from its results, travel in one batch (readingPipelined: one round
//     trip, one snapshot); the children come ordered by their parent's key,
//     and attach gives each parent its run of them.
//   - Joined: fold walks the rows of one JOIN query, ordered by parent, and
//     builds each parent with its children.
//
// A new relation (say a post's comments) is a relation value, a fromDB
// function and one call of either; see CONTRIBUTING.md.

import (
	"cmp"
	"errors"
	"slices"
)

// relation is a one-to-many (or many-to-many) link from parents P to
// children C.
type relation[P, C any] struct {
	key func(P) int64 // the parent's id, which the children's rows refer to
	set func(*P, []C) // attaches the children, never nil: loaded, none is []
}

var (
	userAddresses = relation[User, Address]{
		key: func(u User) int64 { return u.ID },
		set: func(u *User, as []Address) { u.Addresses = as },
	}
	userPosts = relation[User, Post]{
		key: func(u User) int64 { return u.ID },
		set: func(u *User, ps []Post) { u.Posts = ps },
	}
	postTags = relation[Post, Tag]{
		key: func(p Post) int64 { return p.ID },
		set: func(p *Post, ts []Tag) { p.Tags = ts },
	}
)

// attach gives each parent its children from the rows of a select-in load,
// which come ordered by their parent's key (keyset.Child: ORDER BY its Key
// first): one slice holds them all and each parent gets its run of it,
// found by binary search, capped so that an append to one parent's does not
// write over the next's (no map, no slice per parent: BENCHMARKS.md, "A
// page's rows in Go"). A parent without rows gets none ([]); rows of no
// parent given are left out. Rows out of that order are a bug of the
// statement: an error, not children silently lost. (A parent's children
// kept alone keep the whole array alive: a page's worth, as the page does.)
func attach[P, C, R any](rel relation[P, C], parents []P, rows []R, parent func(R) int64, fromDB func(R) C) error {
	byParent := func(r R, key int64) int { return cmp.Compare(parent(r), key) }
	if !slices.IsSortedFunc(rows, func(a, b R) int { return cmp.Compare(parent(a), parent(b)) }) {
		return errors.New("select-in: children not ordered by their parent's key")
	}
	all := make([]C, len(rows))
	for i, row := range rows {
		all[i] = fromDB(row)
	}
	for i := range parents {
		key := rel.key(parents[i])
		from, _ := slices.BinarySearchFunc(rows, key, byParent)
		to := from
		for to < len(rows) && parent(rows[to]) == key {
			to++
		}
		rel.set(&parents[i], all[from:to:to])
	}
	return nil
}

// fold builds parents with their children from the rows of a joined load,
// ordered by parent: a parent comes on one row per child, or on one row
// whose child columns are NULL (child returns false) when it has none.
// key is the parent's id on the row, parent and child convert the row's
// two sides. The result is never nil.
func fold[R, P, C any](rows []R, rel relation[P, C],
	key func(R) int64, parent func(R) P, child func(R) (C, bool),
) []P {
	parents := []P{}
	var children []C
	attach := func() {
		if len(parents) > 0 {
			rel.set(&parents[len(parents)-1], nonNil(children))
		}
	}
	for i, row := range rows {
		if i == 0 || key(row) != key(rows[i-1]) {
			attach()
			parents = append(parents, parent(row))
			children = nil
		}
		if c, ok := child(row); ok {
			children = append(children, c)
		}
	}
	attach()
	return parents
}

// nonNil makes a loaded relation, or a page, with no rows an empty slice,
// not nil (JSON [], not null).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
