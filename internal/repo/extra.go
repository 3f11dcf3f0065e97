package repo

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// ExtraTable declares a table of the user's own (one their migrations add)
// for a load: BulkOptions.Tables and InitialLoadOptions.Tables. The rows come
// attached to each UserGraph (UserGraph.Rows) and are loaded with the user's
// other rows, in the same COPY pipeline and the same transaction. Nothing
// encodes them by hand: the columns' types are read from the catalog, and
// pgx encodes each value as its column's type (the connection's type map),
// so a value is what pgx takes for that type in a query's argument (an
// int64 for a bigint, a string for text or an enum, a time.Time for a
// timestamptz, nil for NULL), or a Ref.
//
// The initial load treats a declared table as its own: it locks it, requires
// it empty, takes its keys, indexes and foreign keys off, and puts them back
// and analyzes it after the copy; its rows are copied after the rows they
// refer to (its foreign keys in the catalog say which). The batched path
// copies the declared tables after the repository's, each after the
// declared tables it refers to (the catalog again), else in the order
// declared.
//
// A declaration is refused with ErrInvalid before anything is written (a
// *FieldError naming the table): a table that does not exist, one of the
// repository's own tables, no columns, a column the table does not have, one
// named twice, a generated column, a table declared twice.
type ExtraTable struct {
	Name    string   // the table, as SQL names it ("bookmarks", "app.bookmarks")
	Columns []string // the columns each TableRow gives values for, in order; the others take their defaults
}

// TableRow is a row of a declared table (ExtraTable), attached to a
// UserGraph: one value per declared column, in its order. A Ref among the
// values is replaced by the id the load gives the graph's user or post.
// A row is refused with ErrInvalid, in a *RowError naming the graph's
// position, when its table is not declared, when it has not one value per
// column, or when a Ref names no post of the graph; a value pgx cannot
// encode as its column's type is refused the same way when its batch (or
// the initial load's part) is encoded, nothing of it written.
type TableRow struct {
	Table  string // as in ExtraTable.Name
	Values []any
}

// Ref is a value of a TableRow that the load replaces by an id it gives:
// ThisUser, PostOf(i) or UserBefore(k). The zero Ref is refused (ErrInvalid).
type Ref struct {
	kind refKind
	n    int // PostOf's i, UserBefore's k
}

type refKind uint8

const (
	refNone refKind = iota
	refUser
	refPost
	refBefore
)

// ThisUser is the id of the graph's user.
var ThisUser = Ref{kind: refUser}

// PostOf is the id of the graph's i-th post (UserGraph.Posts[i], from 0):
// one column's value, the post's id alone. Posts are keyed by (user_id, id),
// so a row that refers to a post gives ThisUser in the column before it,
// the post's user: Values: []any{..., ThisUser, PostOf(i), ...}.
func PostOf(i int) Ref { return Ref{kind: refPost, n: i} }

// UserBefore is the id of the user of the graph k places before this one in
// the load's input (k from 1: the graph just before): a row that relates
// two users (a follow) refers to the other by it. The load keeps the ids of
// the users it loaded (8 bytes each) while it runs, when tables are declared.
func UserBefore(k int) Ref { return Ref{kind: refBefore, n: k} }

func (r Ref) String() string {
	switch r.kind {
	case refUser:
		return "ThisUser"
	case refPost:
		return "PostOf(" + strconv.Itoa(r.n) + ")"
	case refBefore:
		return "UserBefore(" + strconv.Itoa(r.n) + ")"
	}
	return "Ref{}"
}

// extraTable is a declared table as the catalog describes it.
type extraTable struct {
	name    string   // as regclass prints it (quoted where needed)
	columns string   // the COPY column list
	names   []string // the columns, as declared
	types   []uint32
}

// declared indexes tables by their declared names; nil for none.
func declared(tables []ExtraTable) map[string]int {
	if len(tables) == 0 {
		return nil
	}
	m := make(map[string]int, len(tables))
	for i, t := range tables {
		if _, ok := m[t.Name]; !ok {
			m[t.Name] = i
		}
	}
	return m
}

// checkRows checks g's rows of declared tables against their declarations
// (index: declared's), and each Ref against g and its position in the input
// (from 1).
func checkRows(g UserGraph, position int64, tables []ExtraTable, index map[string]int) error {
	for i, row := range g.Rows {
		t, ok := index[row.Table]
		if !ok {
			return invalid("rows["+strconv.Itoa(i)+"].table", row.Table, "is not declared (ExtraTable in the options' Tables)")
		}
		if n := len(tables[t].Columns); len(row.Values) != n {
			return invalid("rows["+strconv.Itoa(i)+"] of "+row.Table, strconv.Itoa(len(row.Values))+" values",
				"must have one per declared column ("+strconv.Itoa(n)+": "+strings.Join(tables[t].Columns, ", ")+")")
		}
		for j, v := range row.Values {
			ref, ok := v.(Ref)
			if !ok {
				continue
			}
			field := "rows[" + strconv.Itoa(i) + "]." + tables[t].Columns[j] + " of " + row.Table
			switch {
			case ref.kind == refBefore && (ref.n < 1 || int64(ref.n) >= position):
				return invalid(field, ref.String(), "names no graph before this one (it is row "+strconv.FormatInt(position, 10)+" of the input)")
			case ref.kind == refNone || ref.kind == refPost && (ref.n < 0 || ref.n >= len(g.Posts)):
				return invalid(field, ref.String(), "names no post of the graph (it has "+strconv.Itoa(len(g.Posts))+")")
			}
		}
	}
	return nil
}

// checkTables refuses a declaration that is wrong whatever the catalog
// says, before a load reads a row.
func checkTables(tables []ExtraTable) error {
	for i, t := range tables {
		if len(t.Columns) == 0 {
			return invalid("table", t.Name, "declares no column")
		}
		for j, c := range t.Columns {
			if slices.Contains(t.Columns[:j], c) {
				return invalid("table", t.Name, "declares column "+c+" twice")
			}
		}
		if slices.ContainsFunc(tables[:i], func(o ExtraTable) bool { return o.Name == t.Name }) {
			return invalid("table", t.Name, "is declared twice")
		}
	}
	return nil
}

// describeTables reads the declared tables from the catalog, refusing a
// declaration that cannot be loaded (ErrInvalid, a *FieldError).
func describeTables(ctx context.Context, q *dbgen.Queries, tables []ExtraTable) ([]extraTable, error) {
	if err := checkTables(tables); err != nil {
		return nil, err
	}
	out := make([]extraTable, 0, len(tables))
	seen := map[string]bool{}
	for _, t := range tables {
		bad := func(why string) ([]extraTable, error) { return nil, invalid("table", t.Name, why) }
		cols, err := q.LoadTableColumns(ctx, dbgen.LoadTableColumnsParams{Own: initialTables, Columns: t.Columns, TableName: t.Name})
		if err != nil {
			return nil, fmt.Errorf("table %q: %w", short(t.Name), dbError(ctx, err))
		}
		switch {
		case len(cols) == 0:
			return bad("does not exist (or is not a table)")
		case cols[0].Own:
			return bad("is one of the repository's own tables, which the load writes itself")
		case seen[cols[0].TableName]:
			return bad("is declared twice")
		}
		seen[cols[0].TableName] = true
		e := extraTable{name: cols[0].TableName}
		names := make([]string, len(cols))
		for i, c := range cols {
			switch {
			case c.TypeOid == 0:
				return bad("has no column " + c.ColumnName)
			case c.Generated:
				return bad("column " + c.ColumnName + " is generated: the database computes it")
			}
			names[i] = pgx.Identifier{c.ColumnName}.Sanitize()
			e.types = append(e.types, uint32(c.TypeOid))
		}
		e.columns, e.names = strings.Join(names, ", "), t.Columns
		out = append(out, e)
	}
	return out, nil
}

// encodeRow appends row to b as its table's COPY line, each value encoded
// by m as its column's type (a Ref resolved first: users holds the ids of
// the load's users by position, from 1, up to the row's graph at position).
// An error is a *FieldError naming the column.
func encodeRow(b *binaryRows, m *pgtype.Map, t *extraTable, row TableRow, position int64, users, posts []int64) error {
	b.row(int16(len(t.types)))
	for i, v := range row.Values {
		if ref, ok := v.(Ref); ok {
			switch ref.kind {
			case refPost:
				v = posts[ref.n]
			case refBefore:
				v = users[position-int64(ref.n)-1]
			default:
				v = users[position-1]
			}
		}
		if err := b.value(m, t.types[i], v); err != nil {
			return invalid(row.Table+"."+t.names[i], fmt.Sprintf("%v", v), "cannot be encoded as its column's type: "+err.Error())
		}
	}
	return nil
}

// value appends v encoded by m as type oid (binary format); nil, or what
// encodes as NULL, is NULL.
func (b *binaryRows) value(m *pgtype.Map, oid uint32, v any) error {
	at := len(b.buf)
	b.buf = append(b.buf, 0, 0, 0, 0) // the length, once known
	out, err := m.Encode(oid, pgtype.BinaryFormatCode, v, b.buf)
	if err != nil {
		b.buf = b.buf[:at]
		return err
	}
	if out == nil {
		b.buf = binary.BigEndian.AppendUint32(b.buf[:at], math.MaxUint32) // -1: NULL
		return nil
	}
	binary.BigEndian.PutUint32(out[at:], uint32(len(out)-at-4))
	b.buf = out
	return nil
}

// insertRows copies the batch's rows of the declared tables, after the
// repository's tables, one COPY per table that has rows, parents first
// (copyOrder). The first batch describes the tables from the catalog.
func (b *graphBatch) insertRows(ctx context.Context, tx pgx.Tx, first int64, graphs []UserGraph, userIDs, postIDs []int64) (int64, error) {
	if b.described == nil {
		d, err := describeTables(ctx, newQueries(tx), b.tables)
		if err != nil {
			return 0, err
		}
		order, err := copyOrder(ctx, newQueries(tx), d)
		if err != nil {
			return 0, err
		}
		b.described, b.order = d, order
	}
	parts := make([]binaryRows, len(b.described))
	owners := make([][]int32, len(b.described)) // the graph (index in graphs) of each line
	m := tx.Conn().TypeMap()
	b.users = append(b.users[:first-1], userIDs...) // a batch that failed and is sent again replaces its own
	var post int
	for i, g := range graphs {
		posts := postIDs[post : post+len(g.Posts)]
		post += len(g.Posts)
		for _, row := range g.Rows {
			t := b.declared[row.Table]
			if err := encodeRow(&parts[t], m, &b.described[t], row, first+int64(i), b.users, posts); err != nil {
				return 0, &RowError{Position: first + int64(i), Err: err}
			}
			owners[t] = append(owners[t], int32(i))
		}
	}
	var n int64
	for _, t := range b.order {
		e := b.described[t]
		if len(owners[t]) == 0 {
			continue
		}
		cctx, done := tracedCopy(ctx, tx, e.name)
		tag, err := tx.Conn().PgConn().CopyFrom(cctx, bytes.NewReader(parts[t].finish()),
			"COPY "+e.name+" ("+e.columns+") FROM STDIN WITH (FORMAT binary)")
		done(tag, err)
		if err != nil {
			return 0, copyError(ctx, err, e.name, first, owners[t])
		}
		n += tag.RowsAffected()
	}
	return n, nil
}

// copyOrder is the order to copy the declared tables in (indexes in
// tables): each after the others its foreign keys refer to, otherwise as
// declared; tables that refer to each other in a cycle as declared.
func copyOrder(ctx context.Context, q *dbgen.Queries, tables []extraTable) ([]int, error) {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.name
	}
	parents, err := q.LoadTableParents(ctx, names)
	if err != nil {
		return nil, dbError(ctx, err)
	}
	order := make([]int, 0, len(tables))
	done := make([]bool, len(tables))
	ready := func(i int) bool {
		for _, p := range parents[i] {
			if !done[p-1] {
				return false
			}
		}
		return true
	}
	for len(order) < len(tables) {
		next := slices.IndexFunc(done, func(d bool) bool { return !d }) // a cycle: the first left
		for i := range tables {
			if !done[i] && ready(i) {
				next = i
				break
			}
		}
		done[next] = true
		order = append(order, next)
	}
	return order, nil
}
