// Package keyset builds the SQL of keyset pages (seek pagination) and their
// cursors. It has one job: a list is declared in Go (its table, selected
// columns, unique tie-break key, named orders and named filters, each
// filter a constant SQL predicate with @placeholders written in Go source),
// and for each shape of a call (order, direction, filters present, first
// page or not) it builds one SQL text, once, and caches it. So a driver that
// prepares statements by their text (pgx's statement cache) prepares each
// shape once per connection, and its generic plan is an index seek: there is
// no `$1 IS NULL OR ...` for the planner to keep open, the cursor is a row
// comparison on the order's keys and the tie-break, which is the index's
// order:
//
//	SELECT cols FROM t WHERE <filters> AND (k, id) > ($3, $4) ORDER BY k, id LIMIT $5
//
// (`<` and DESC for descending). Nothing a caller passes at run time becomes
// SQL text: callers choose among the declared orders and filters by name and
// pass values, always as parameters.
//
// Related rows load with the page in one round trip, by the same index
// seek: Joined is one statement (the page in a WITH, joined to the child
// table), SelectIn the page statement and `WITH page AS (<page>) SELECT
// child.* FROM child WHERE child.parent_id = ANY (ARRAY(SELECT id FROM
// page))`, sent together.
//
// The package knows no table of its own; internal/repo declares its lists.
package keyset

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Type is the type of a key column, which its cursor values have.
type Type int

// The key types.
const (
	Int64 Type = iota + 1 // bigint: Go int64
	Int32                 // integer: Go int32
	Text                  // text, ordered by the column's own collation (its index's): Go string
	Time                  // timestamptz: Go time.Time, to the microsecond
)

func (t Type) String() string {
	switch t {
	case Int64:
		return "bigint"
	case Int32:
		return "integer"
	case Text:
		return "text"
	case Time:
		return "timestamptz"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Key is a column of an order or of the tie-break key.
type Key struct {
	Column string // a column of the list's table
	Type   Type
}

// Order is a named sort order: its keys, then the list's tie-break key.
// Each needs an index on (keys..., tie-break...) for its pages to seek.
type Order struct {
	Name string
	Keys []Key // may be empty: the tie-break key alone
}

// Filter is a named predicate over the list's table, constant SQL written in
// Go source, whose values come as parameters named @name (letters, digits,
// underscores). Its values are given in the order the names first appear.
//
// A filter on the leading key of the order asked for (Column) goes into the
// statement as it is: it bounds the seek of the order's index (an Index
// Cond). Any other is written `coalesce((SQL), false)`, which means the same
// in a WHERE but is no index condition, and which the planner guesses
// matches half the rows: a generic plan, which must guess the selectivity of
// every parameter, multiplies its guesses (a third for an inequality, 0.5%
// for two bounds of one column or a pattern), and when they leave fewer rows
// than the limit it reads them by a filter's index and sorts them, however
// many rows the values really match. Wrapped, the plan seeks the order's
// index, filters, and stops at the page's limit.
//
// A filter marked Prefix is an equality on a column that an index has before
// the order's keys (posts' user_id = $1 in posts_pkey (user_id, id)): it goes
// in as it is too, so that the seek takes that index.
//
// A filter marked Required is in every call of the list (a list of one
// user's rows): a query without it is refused, and Shapes leaves out the
// statements without it, so no index has to serve a statement never sent.
type Filter struct {
	Name     string
	SQL      string
	Column   string // the column it bounds, if any
	Prefix   bool
	Required bool
}

// Child is a table of rows related to the list's, loaded with a page
// (Joined, SelectIn). Its rows join the page's by On.
type Child struct {
	Name    string
	Table   string // with an alias: "addresses c", or a parenthesized join
	Columns string // the child's columns selected, qualified: "c.id, c.email"
	On      string // joins the child to the page's rows, "page" their alias: "c.user_id = page.id"
	// JoinedOn, if set, is On in the joined statement, where it may name the
	// list's Join too (on Citus, distributed tables must join each other on
	// their distribution columns, not only the page).
	JoinedOn string
	// In finds the children of the page's rows in the select-in statement,
	// "page" a CTE of them: Key = ANY of an array of the page's, "c.user_id
	// = ANY (ARRAY(SELECT id FROM page))". With an index leading with Key,
	// that is a hand-written select-in's index seek, whatever the page's
	// size: joined to the page instead, the child table is hashed whole by a
	// generic plan, which guesses a tenth of the list's table for LIMIT $n,
	// where an ANY of an array it guesses ten rows; and an ANY on another
	// column too (the author of a post) may be sought first, the rest
	// filtered, reading all of a prolific author's children.
	In      string
	Key     string // the child's column naming its parent, by which select-in rows come: "c.user_id"
	OrderBy string // the children's order under one parent: "c.id"
}

// Decl declares a list.
type Decl struct {
	Name     string   // names the list in its cursors: "users"
	Table    string   // the table: "users"
	Columns  []string // selected, in this order; must include every key column
	Tie      []Key    // a unique key breaking ties: the last keys of every order
	Orders   []Order  // the first is the default
	Filters  []Filter // at most 64
	Children []Child
	// Join, with JoinColumns, adds a to-one relation to every row of a
	// page, joined to the page ("page" its alias) after the seek: "JOIN
	// users u ON u.id = page.user_id". Its columns follow the list's.
	Join, JoinColumns string
}

// List is a declared list: it builds and caches its statements. Safe for
// concurrent use.
type List struct {
	d        Decl
	params   [][]string // each filter's parameter names, in order
	required uint64     // bit i: filter i is Required
	children map[string]int
	stmts    sync.Map // shape -> string
}

var placeholder = regexp.MustCompile(`@[a-z_][a-z0-9_]*`)

// New checks a declaration and returns its list; it panics on a mistake in
// it (a declaration is constant Go source: a mistake is a bug).
func New(d Decl) *List {
	fail := func(format string, a ...any) { panic("keyset: list " + d.Name + ": " + fmt.Sprintf(format, a...)) }
	if d.Name == "" || d.Table == "" || len(d.Columns) == 0 || len(d.Tie) == 0 || len(d.Orders) == 0 {
		fail("name, table, columns, tie-break key and an order are required")
	}
	if len(d.Filters) > 64 {
		fail("more than 64 filters")
	}
	l := &List{d: d, children: map[string]int{}}
	for _, o := range d.Orders {
		for _, k := range append(slices.Clone(o.Keys), d.Tie...) {
			if !slices.Contains(d.Columns, k.Column) {
				fail("order %q: key %q is not a selected column", o.Name, k.Column)
			}
			if k.Type < Int64 || k.Type > Time {
				fail("order %q: key %q has no type", o.Name, k.Column)
			}
		}
	}
	for _, f := range d.Filters {
		var names []string
		for _, p := range placeholder.FindAllString(f.SQL, -1) {
			if !slices.Contains(names, p[1:]) {
				names = append(names, p[1:])
			}
		}
		if len(names) == 0 {
			fail("filter %q has no parameter", f.Name)
		}
		l.params = append(l.params, names)
		if f.Required {
			l.required |= 1 << (len(l.params) - 1)
		}
	}
	for i, c := range d.Children {
		if c.On == "" || c.In == "" || c.Key == "" || c.Columns == "" || c.OrderBy == "" {
			fail("child %q: columns, on, in, key and order are required", c.Name)
		}
		l.children[c.Name] = i
	}
	if (d.Join == "") != (d.JoinColumns == "") {
		fail("a join needs its columns and columns their join")
	}
	return l
}

// Name is the list's name, as its cursors carry it.
func (l *List) Name() string { return l.d.Name }

// Decl returns the list's declaration (its slices are the list's: not to be
// changed).
func (l *List) Decl() Decl { return l.d }

// Table is the list's table.
func (l *List) Table() string { return l.d.Table }

// Orders are the names of the list's orders, the default first.
func (l *List) Orders() []string {
	names := make([]string, len(l.d.Orders))
	for i, o := range l.d.Orders {
		names[i] = o.Name
	}
	return names
}

// Filters are the names of the list's filters, in declared order.
func (l *List) Filters() []string {
	names := make([]string, len(l.d.Filters))
	for i, f := range l.d.Filters {
		names[i] = f.Name
	}
	return names
}

// Children are the names of the list's children.
func (l *List) Children() []string {
	names := make([]string, len(l.d.Children))
	for i, c := range l.d.Children {
		names[i] = c.Name
	}
	return names
}

// Params are the names of a filter's parameters, in the order its values
// are given; nil for no such filter.
func (l *List) Params(filter string) []string {
	if i := l.filter(filter); i >= 0 {
		return l.params[i]
	}
	return nil
}

func (l *List) filter(name string) int {
	return slices.IndexFunc(l.d.Filters, func(f Filter) bool { return f.Name == name })
}

func (l *List) order(name string) int {
	return slices.IndexFunc(l.d.Orders, func(o Order) bool { return o.Name == name })
}

// keys are an order's keys followed by the tie-break key.
func (l *List) keys(order int) []Key {
	return append(slices.Clone(l.d.Orders[order].Keys), l.d.Tie...)
}

// Query is one call of a list.
type Query struct {
	Order   string // one of the list's orders; "": the first
	Desc    bool
	Filters []Arg  // the filters present, each once
	After   string // a cursor of this list, order and direction; "": the first page
	Limit   int    // rows of the page, at least 1
}

// Arg is a filter present in a query and its values, one per parameter.
type Arg struct {
	Filter string
	Values []any
}

// Page is a query checked and its cursor decoded: it gives the statements
// of the page and makes the next page's cursor.
type Page struct {
	l       *List
	shape   shape
	filters []any // the filters' values, in declared order
	after   []any // the cursor's key values; nil: the first page
	limit   int
}

// shape picks one statement text.
type shape struct {
	order   int
	desc    bool
	filters uint64 // bit i: filter i present
	after   bool
	child   int // -1: none
	mode    mode
}

type mode int

const (
	modePage mode = iota
	modeJoined
	modeSelectIn
)

// Page checks q against the list. A bad cursor is a *CursorError; any other
// error (an unknown order or filter, a wrong number of values, a bad limit)
// is the caller's bug, which its tests catch.
func (l *List) Page(q Query) (Page, error) {
	if q.Order == "" {
		q.Order = l.d.Orders[0].Name
	}
	o := l.order(q.Order)
	if o < 0 {
		return Page{}, fmt.Errorf("keyset: list %s has no order %q", l.d.Name, q.Order)
	}
	if q.Limit < 1 {
		return Page{}, fmt.Errorf("keyset: list %s: limit %d", l.d.Name, q.Limit)
	}
	p := Page{l: l, shape: shape{order: o, desc: q.Desc, child: -1}, limit: q.Limit}
	values := make([][]any, len(l.d.Filters))
	for _, a := range q.Filters {
		i := l.filter(a.Filter)
		switch {
		case i < 0:
			return Page{}, fmt.Errorf("keyset: list %s has no filter %q", l.d.Name, a.Filter)
		case p.shape.filters&(1<<i) != 0:
			return Page{}, fmt.Errorf("keyset: list %s: filter %q given twice", l.d.Name, a.Filter)
		case len(a.Values) != len(l.params[i]):
			return Page{}, fmt.Errorf("keyset: list %s: filter %q takes %d values, not %d", l.d.Name, a.Filter, len(l.params[i]), len(a.Values))
		}
		p.shape.filters |= 1 << i
		values[i] = a.Values
	}
	if missing := l.required &^ p.shape.filters; missing != 0 {
		for i, f := range l.d.Filters {
			if missing&(1<<i) != 0 {
				return Page{}, fmt.Errorf("keyset: list %s: filter %q is required", l.d.Name, f.Name)
			}
		}
	}
	for _, v := range values {
		p.filters = append(p.filters, v...)
	}
	if q.After != "" {
		after, err := l.decode(q.After, o, q.Desc)
		if err != nil {
			return Page{}, err
		}
		p.after = after
		p.shape.after = true
	}
	return p, nil
}

// Limit is the page's size.
func (p Page) Limit() int { return p.limit }

// SQL is the page statement and its arguments. It asks for one row more
// than the page's limit, which tells whether there is a next page. Its rows
// are the list's columns, then its join's.
func (p Page) SQL() (string, []any) {
	return p.l.statement(p.shape), p.args(p.limit + 1)
}

// Joined is one statement: the page's rows (the list's columns, its join's), each with
// one row of the child's (its Columns; all NULL for a row without
// children), ordered by the page's order then the child's. Its page is the
// page's limit plus one row, as SQL's.
func (p Page) Joined(child string) (string, []any) {
	s := p.shape
	s.child, s.mode = p.l.child(child), modeJoined
	return p.l.statement(s), p.args(p.limit + 1)
}

// SelectIn is the statement of the children of the page's rows (the limit,
// not the one more row SQL reads), by their parent then their order: it
// finds the page with the same seek as SQL, so both can be sent together.
func (p Page) SelectIn(child string) (string, []any) {
	s := p.shape
	s.child, s.mode = p.l.child(child), modeSelectIn
	return p.l.statement(s), p.args(p.limit)
}

func (l *List) child(name string) int {
	i, ok := l.children[name]
	if !ok {
		panic("keyset: list " + l.d.Name + " has no child " + strconv.Quote(name))
	}
	return i
}

func (p Page) args(limit int) []any {
	args := make([]any, 0, len(p.filters)+len(p.after)+1)
	args = append(args, p.filters...)
	args = append(args, p.after...)
	return append(args, int64(limit))
}

// statement returns the cached text of a shape, building it the first time.
func (l *List) statement(s shape) string {
	if sql, ok := l.stmts.Load(s); ok {
		return sql.(string)
	}
	sql, _ := l.stmts.LoadOrStore(s, l.build(s))
	return sql.(string)
}

// Header starts every statement of a list, naming it: in logs and
// pg_stat_statements, and for tests that tell the repository's statements
// from others (sqlc's start with "-- name:").
func Header(list string) string { return "-- keyset: " + list + "\n" }

func (l *List) build(s shape) string { return Header(l.d.Name) + l.body(s) }

func (l *List) body(s shape) string {
	var b strings.Builder
	n := 0
	param := func() string { n++; return "$" + strconv.Itoa(n) }
	keys := l.keys(s.order)
	dir := ""
	if s.desc {
		dir = " DESC"
	}

	b.WriteString("SELECT ")
	b.WriteString(strings.Join(l.d.Columns, ", "))
	b.WriteString(" FROM ")
	b.WriteString(l.d.Table)
	var where []string
	for i, f := range l.d.Filters {
		if s.filters&(1<<i) == 0 {
			continue
		}
		names := l.params[i]
		nums := make(map[string]string, len(names))
		for _, name := range names {
			nums[name] = param()
		}
		pred := "(" + placeholder.ReplaceAllStringFunc(f.SQL, func(p string) string { return nums[p[1:]] }) + ")"
		if !f.Prefix && (f.Column == "" || f.Column != keys[0].Column) {
			pred = "coalesce(" + pred + ", false)"
		}
		where = append(where, pred)
	}
	if s.after {
		cols := make([]string, len(keys))
		ps := make([]string, len(keys))
		for i, k := range keys {
			cols[i], ps[i] = k.Column, param()
		}
		op := " > "
		if s.desc {
			op = " < "
		}
		if len(keys) == 1 {
			where = append(where, cols[0]+op+ps[0])
		} else {
			where = append(where, "("+strings.Join(cols, ", ")+")"+op+"("+strings.Join(ps, ", ")+")")
		}
	}
	if len(where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(where, " AND "))
	}
	b.WriteString(" ORDER BY ")
	b.WriteString(orderBy(keys, "", dir))
	b.WriteString(" LIMIT ")
	b.WriteString(param())
	page := b.String()
	if s.mode == modePage && l.d.Join == "" {
		return page
	}
	if s.mode == modeSelectIn {
		c := l.d.Children[s.child]
		return "WITH page AS (" + page + ") SELECT " + c.Columns + " FROM " + c.Table +
			" WHERE " + c.In + " ORDER BY " + c.Key + ", " + c.OrderBy
	}
	cols := make([]string, len(l.d.Columns))
	for i, col := range l.d.Columns {
		cols[i] = "page." + col
	}
	sel := strings.Join(cols, ", ")
	from := "page"
	if l.d.Join != "" {
		sel += ", " + l.d.JoinColumns
		from += " " + l.d.Join
	}
	order := orderBy(keys, "page.", dir)
	if s.mode == modeJoined {
		c := l.d.Children[s.child]
		sel += ", " + c.Columns
		on := c.On
		if c.JoinedOn != "" {
			on = c.JoinedOn
		}
		from += " LEFT JOIN " + c.Table + " ON " + on
		order += ", " + c.OrderBy
	}
	return "WITH page AS (" + page + ") SELECT " + sel + " FROM " + from + " ORDER BY " + order
}

func orderBy(keys []Key, prefix, dir string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = prefix + k.Column + dir
	}
	return strings.Join(parts, ", ")
}

// Shape is one statement a list can send, for tests that check every one
// of them (plans, validity against the schema).
type Shape struct {
	Order   string
	Desc    bool
	Filters []string // present, in declared order
	After   bool     // with a cursor
	Child   string   // "": the page statement
	Joined  bool     // with Child: the joined statement, else the select-in one
	SQL     string
	// Keys are the order's key columns then the tie-break's, which a seek on
	// the cursor compares.
	Keys []Key
}

// Shapes enumerates every statement the list can send: each order,
// direction, set of filters (with the required ones) and first page or not, for the page and for
// each child, joined and select-in.
func (l *List) Shapes() []Shape {
	var out []Shape
	for o := range l.d.Orders {
		for _, desc := range []bool{false, true} {
			for set := uint64(0); set < 1<<len(l.d.Filters); set++ {
				if set&l.required != l.required {
					continue
				}
				for _, after := range []bool{false, true} {
					base := shape{order: o, desc: desc, filters: set, after: after, child: -1}
					var filters []string
					for i, f := range l.d.Filters {
						if set&(1<<i) != 0 {
							filters = append(filters, f.Name)
						}
					}
					mk := func(s shape) Shape {
						sh := Shape{Order: l.d.Orders[o].Name, Desc: desc, Filters: filters, After: after,
							Joined: s.mode == modeJoined, SQL: l.statement(s), Keys: l.keys(o)}
						if s.child >= 0 {
							sh.Child = l.d.Children[s.child].Name
						}
						return sh
					}
					out = append(out, mk(base))
					for c := range l.d.Children {
						for _, m := range []mode{modeJoined, modeSelectIn} {
							s := base
							s.child, s.mode = c, m
							out = append(out, mk(s))
						}
					}
				}
			}
		}
	}
	return out
}

// Next is the cursor of the page after the one ending with a row whose key
// columns have the values value gives (by column name).
func (p Page) Next(value func(column string) any) string {
	keys := p.l.keys(p.shape.order)
	vals := make([]any, len(keys))
	for i, k := range keys {
		vals[i] = value(k.Column)
	}
	return p.l.encode(p.shape.order, p.shape.desc, vals)
}

// timeValue converts a key value of type Time for a cursor.
func timeValue(v any) int64 {
	switch t := v.(type) {
	case time.Time:
		return t.UnixMicro()
	case *time.Time:
		return t.UnixMicro()
	}
	panic(fmt.Sprintf("keyset: a Time key's value is %T", v))
}
