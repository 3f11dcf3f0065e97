package repo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
	"github.com/inkwell-dev/inkwell/internal/keyset"
)

// usersList declares the lists of users: ListUsers, ListUsersWithAddresses,
// ListUsersWithPosts. Each order needs an index on (keys, id); each filter
// is constant SQL with its values as parameters (see internal/keyset). A new
// order or filter is a line here and a field of UserQuery; TestListPlans
// checks every statement it adds against the schema and its plans.
var usersList = keyset.New(keyset.Decl{
	Name:    "users",
	Table:   "users",
	Columns: []string{"id", "name", "age", "created_at"},
	Tie:     []keyset.Key{{Column: "id", Type: keyset.Int64}},
	Orders: []keyset.Order{
		{Name: string(ByID)}, // users_pkey
		{Name: string(ByAge), Keys: []keyset.Key{{Column: "age", Type: keyset.Int32}}},             // users_age_id_idx
		{Name: string(ByName), Keys: []keyset.Key{{Column: "name", Type: keyset.Text}}},            // users_name_id_idx
		{Name: string(ByCreatedAt), Keys: []keyset.Key{{Column: "created_at", Type: keyset.Time}}}, // users_created_at_id_idx (00012)
	},
	Filters: []keyset.Filter{
		// The age bounds are row comparisons with the tie-break, which mean
		// the same as age >= and age <= (every id lies between the least and
		// the greatest bigint) and seek users_age_id_idx the same way, but
		// which the planner does not pair into a "range", for which a generic
		// plan guesses 0.5% of the rows, too few to seek by age and stop at
		// the limit: it would read the whole range and sort it.
		{Name: "min_age", SQL: "(age, id) >= (@min_age, -9223372036854775807 - 1)", Column: "age"},
		{Name: "max_age", SQL: "(age, id) <= (@max_age, 9223372036854775807)", Column: "age"},
		// starts_with is exact under any collation; by name, the lower
		// bound starts the seek at the prefix (a name that starts with it
		// sorts at or after it). Within coalesce, which changes nothing
		// (neither can be NULL), the planner guesses it matches half the
		// rows, not the 0.5% it guesses for a pattern it cannot see.
		{Name: "name_prefix", SQL: "name >= @name_prefix AND coalesce(starts_with(name, @name_prefix), false)", Column: "name"},
		{Name: "created_since", SQL: "created_at >= @created_since", Column: "created_at"},
	},
	Children: []keyset.Child{
		{Name: "addresses", Table: "addresses c", Columns: "c.id, c.user_id, c.email",
			On: "c.user_id = page.id", In: "c.user_id = ANY (ARRAY(SELECT id FROM page))", Key: "c.user_id", OrderBy: "c.id"},
		{Name: "posts", Table: "posts c", Columns: "c.id, c.user_id, c.title, c.content, c.published, c.rating, c.created_at",
			On: "c.user_id = page.id", In: "c.user_id = ANY (ARRAY(SELECT id FROM page))", Key: "c.user_id", OrderBy: "c.id"},
	},
})

// keysetLists are the repository's keyset lists, for tests that check every
// statement they can send (TestListPlans).
var keysetLists = []*keyset.List{usersList, postsList, followingList, followersList, feedList}

// The lists of users, as Users, with their addresses or posts.
var (
	users              = listOf[User](usersList)
	userAddressesChild = childOf(usersList, "addresses", userAddresses)
	userPostsChild     = childOf(usersList, "posts", userPosts)
)

// ListUsers returns a page of users filtered and ordered as q says.
// ErrInvalid for a bad order, limit, age range, name prefix or cursor.
func (r *Repo) ListUsers(ctx context.Context, q UserQuery) (Page[User], error) {
	kq, err := q.query()
	if err != nil {
		return Page[User]{}, fmt.Errorf("list users: %w", err)
	}
	return listing(ctx, r, users, kq, "list users")
}

// ListUsersWithAddresses returns a page of users, as ListUsers does, each with
// their addresses loaded as s says, in one round trip either way.
// ErrInvalid for a bad strategy, order, limit, age range, name prefix or cursor.
func (r *Repo) ListUsersWithAddresses(ctx context.Context, q UserQuery, s Strategy) (Page[User], error) {
	kq, err := q.query()
	if err != nil {
		return Page[User]{}, fmt.Errorf("list users with addresses: %w", err)
	}
	return listingWith(ctx, r, users, userAddressesChild, kq, s, "list users with addresses")
}

// ListUsersWithPosts returns a page of users, as ListUsers does, each with
// their posts (oldest first, without Author or Tags) loaded as s says, in one
// round trip either way. ErrInvalid for a bad strategy, order, limit, age
// range, name prefix or cursor.
func (r *Repo) ListUsersWithPosts(ctx context.Context, q UserQuery, s Strategy) (Page[User], error) {
	kq, err := q.query()
	if err != nil {
		return Page[User]{}, fmt.Errorf("list users with posts: %w", err)
	}
	return listingWith(ctx, r, users, userPostsChild, kq, s, "list users with posts")
}

// listing is the whole of a list method: the page of l that q asks for (its
// Order "" the list's first; a bad limit or cursor is ErrInvalid), read in
// one statement where reads go, every error wrapped with what failed for
// which input (what a format, args its values).
func listing[P any](ctx context.Context, r *Repo, l list[P], q keyset.Query, what string, args ...any) (Page[P], error) {
	p, err := keysetPage(l.decl, q)
	if err == nil {
		var page Page[P]
		if page, err = listPage(ctx, r, l, p); err == nil {
			return page, nil
		}
	}
	return Page[P]{}, fmt.Errorf(what+": %w", append(args, err)...)
}

// listingWith is listing for a list with one of its children, c, loaded as s
// says, in one round trip either way; ErrInvalid for a bad strategy too.
func listingWith[P, R, C any](ctx context.Context, r *Repo, l list[P], c child[P, R, C], q keyset.Query, s Strategy,
	what string, args ...any) (Page[P], error) {
	p, err := keysetPage(l.decl, q)
	if err = cmp.Or(err, s.check()); err == nil {
		var page Page[P]
		if page, err = listWith(ctx, r, l, c, p, s); err == nil {
			return page, nil
		}
	}
	return Page[P]{}, fmt.Errorf(what+": %w", append(args, err)...)
}

// listPage reads page p of l where reads go.
func listPage[P any](ctx context.Context, r *Repo, l list[P], p keyset.Page) (Page[P], error) {
	return readingSQL(ctx, r, func(db dbgen.DBTX) (Page[P], error) {
		items, err := queryPage(ctx, db, l, p)
		if err != nil {
			return Page[P]{}, dbError(ctx, err)
		}
		return l.pageOf(p, items), nil
	})
}

// list is how the rows of a keyset list become values P.
type list[P any] struct {
	decl   *keyset.List
	dests  func(*P) []any      // scan targets of the list's columns (its join's too), in order
	own    func(*P)            // gives a copy its own of what dests points into (an Author), if anything
	column func(P, string) any // a key column's value, for the next page's cursor
	id     func(P) int64       // the row's id, which its children refer to
}

// child is how the rows R of one of a list's children become values C.
type child[P, R, C any] struct {
	name     string // the keyset.Child's
	rel      relation[P, C]
	dests    func(*R) []any // scan targets of the child's columns, in order
	parent   func(R) int64  // the id of its parent
	conv     func(R) C
	nullable func() (dests []any, get func() (C, bool)) // the same columns after a LEFT JOIN
}

// pageOf cuts the rows of a page statement, which asks for one more than the
// limit, to the limit, and makes the next page's cursor from the last row kept.
func (l list[P]) pageOf(p keyset.Page, items []P) Page[P] {
	limit := p.Limit()
	if len(items) <= limit {
		return Page[P]{Items: nonNil(items)}
	}
	items = items[:limit]
	last := items[limit-1]
	return Page[P]{Items: items, Next: p.Next(func(col string) any { return l.column(last, col) })}
}

// queryPage runs a page statement. Its rows are made room for at once: a
// page is usually full (limit+1 rows, the one more telling there is a next).
func queryPage[P any](ctx context.Context, db dbgen.DBTX, l list[P], p keyset.Page) ([]P, error) {
	sql, args := p.SQL()
	return queryRows(ctx, db, sql, args, l.dests, l.own, p.Limit()+1)
}

// queryRows scans every row into one value, whose scan targets are made
// once, and appends a copy of it (given its own pointees by own, if not
// nil): no allocation per row but the values'. The first row makes room for
// expected rows (a guess: more may come), so that a full page is not copied
// as it grows; no row, no allocation (a pipeline's recording pass).
func queryRows[T any](ctx context.Context, db dbgen.DBTX, sql string, args []any, dests func(*T) []any, own func(*T), expected int) ([]T, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	var v T
	targets := dests(&v)
	for rows.Next() {
		if err := rows.Scan(targets...); err != nil {
			return nil, err
		}
		if out == nil {
			out = make([]T, 0, expected)
		}
		out = append(out, v)
		if own != nil {
			own(&out[len(out)-1])
		}
	}
	return out, rows.Err()
}

// listWith loads a page and its children as s says: Joined, one statement
// (the page in a WITH, joined to the children); SelectIn, the page
// statement and the children's, which finds the page by the same seek, in
// one batch (one round trip, one snapshot: readingPipelinedSQL).
func listWith[P, R, C any](ctx context.Context, r *Repo, l list[P], c child[P, R, C], p keyset.Page, s Strategy) (Page[P], error) {
	if s == Joined {
		return readingSQL(ctx, r, func(db dbgen.DBTX) (Page[P], error) {
			items, err := queryJoined(ctx, db, l, c, p)
			if err != nil {
				return Page[P]{}, dbError(ctx, err)
			}
			return l.pageOf(p, items), nil
		})
	}
	return readingPipelinedSQL(ctx, r, func(db dbgen.DBTX) (Page[P], error) {
		items, err := queryPage(ctx, db, l, p)
		sql, args := p.SelectIn(c.name)
		children, cerr := queryRows(ctx, db, sql, args, c.dests, nil, len(items))
		if err = cmp.Or(err, cerr); err != nil {
			return Page[P]{}, dbError(ctx, err)
		}
		if err := attach(c.rel, items, children, c.parent, c.conv); err != nil {
			return Page[P]{}, err
		}
		return l.pageOf(p, items), nil
	})
}

// queryJoined runs a joined statement, whose rows come ordered by parent,
// one per child (NULL child columns for a parent without), and builds the
// parents with their children, as fold does, scanning every row into the
// same targets.
func queryJoined[P, R, C any](ctx context.Context, db dbgen.DBTX, l list[P], c child[P, R, C], p keyset.Page) ([]P, error) {
	sql, args := p.Joined(c.name)
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var row P
	childDests, get := c.nullable()
	targets := append(l.dests(&row), childDests...)
	parents := make([]P, 0, p.Limit()+1) // as queryPage
	// The children of every parent are appended to one slice, each parent
	// given its run, capped (as attach does): one allocation per doubling
	// rather than per parent. A run already given keeps the array it was
	// cut from when the slice grows.
	var all []C
	from := 0
	run := func() []C { return nonNil(all[from:len(all):len(all)]) }
	for rows.Next() {
		if err := rows.Scan(targets...); err != nil {
			return nil, err
		}
		if n := len(parents); n == 0 || l.id(parents[n-1]) != l.id(row) {
			if n > 0 {
				c.rel.set(&parents[n-1], run())
			}
			parents, from = append(parents, row), len(all)
			if l.own != nil {
				l.own(&parents[len(parents)-1])
			}
		}
		if ch, ok := get(); ok {
			all = append(all, ch)
		}
	}
	if n := len(parents); n > 0 {
		c.rel.set(&parents[n-1], run())
	}
	return parents, rows.Err()
}

// keysetPage checks what every list query has (limit, cursor) and returns
// its page: a refused cursor is ErrInvalid.
func keysetPage(l *keyset.List, q keyset.Query) (keyset.Page, error) {
	limit, err := checkLimit(q.Limit)
	if err != nil {
		return keyset.Page{}, err
	}
	q.Limit = limit
	p, err := l.Page(q)
	var ce *keyset.CursorError
	if errors.As(err, &ce) {
		return keyset.Page{}, invalid("cursor", ce.Cursor, ce.Reason)
	}
	return p, err
}

// query checks q and returns its query of usersList.
func (q UserQuery) query() (keyset.Query, error) {
	if q.OrderBy == "" {
		q.OrderBy = ByID
	}
	orders := usersList.Orders()
	if !slices.Contains(orders, string(q.OrderBy)) {
		return keyset.Query{}, invalid("order", string(q.OrderBy), "must be "+orList(orders))
	}
	if q.MinAge != nil && q.MaxAge != nil && *q.MinAge > *q.MaxAge {
		return keyset.Query{}, invalid("age range", fmt.Sprintf("%d-%d", *q.MinAge, *q.MaxAge), "has its minimum above its maximum")
	}
	var filters []keyset.Arg
	filters = withFilter(filters, "min_age", q.MinAge)
	filters = withFilter(filters, "max_age", q.MaxAge)
	if q.NamePrefix != "" {
		if err := checkPrefix(q.NamePrefix); err != nil {
			return keyset.Query{}, err
		}
		filters = append(filters, keyset.Arg{Filter: "name_prefix", Values: []any{q.NamePrefix}})
	}
	filters = withFilter(filters, "created_since", q.CreatedSince)
	return keyset.Query{Order: string(q.OrderBy), Desc: q.Desc, Filters: filters, After: q.After, Limit: q.Limit}, nil
}

// withFilter adds the argument of the named filter to filters if v is set:
// a filter a query leaves nil is not in the statement.
func withFilter[T any](filters []keyset.Arg, filter string, v *T) []keyset.Arg {
	if v == nil {
		return filters
	}
	return append(filters, keyset.Arg{Filter: filter, Values: []any{*v}})
}

// checkPrefix refuses a name prefix no name can start with.
func checkPrefix(prefix string) error {
	switch {
	case !utf8.ValidString(prefix) || strings.ContainsRune(prefix, 0):
		return invalid("name prefix", prefix, "is not valid text")
	case utf8.RuneCountInString(prefix) > MaxNameLen:
		return invalid("name prefix", prefix, fmt.Sprintf("is longer than a name (%d characters)", MaxNameLen))
	}
	return nil
}

// orList quotes names as `"a", "b" or "c"`.
func orList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	if len(quoted) == 1 {
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}
