package repo

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// The differential tests below hold Go's validation and the schema's CHECK
// constraints together: the constraints are read from the catalog and
// evaluated by the server on the values (a SELECT, nothing is written), under
// the database's default collation and under C, ICU's root and a libc
// collation, as if the database had been created with each.

// checkedColumn is a column with CHECK constraints, as the catalog says.
type checkedColumn struct {
	table, column, typ string
	collatable         bool
	exprs              []string // one per constraint, over the bare column name
	names              []string
}

func (c checkedColumn) key() string { return c.table + "." + c.column }

// checkedColumns reads the CHECK constraints of the schema from the catalog.
// A CHECK over one column the repository writes (one of ours, as
// pgtest.EmbeddedColumns says) is fed values, and its column must have a Go
// validator in goValidators (validate.go), which the differential tests compare it with. A
// CHECK over a column a user added (to a table of theirs or of ours), or over
// several columns, or none, has no Go validator to compare with: it is
// returned in unfed, "table.constraint", for the log.
func checkedColumns(t testing.TB, pool *pgxpool.Pool) (cols []checkedColumn, unfed []string) {
	t.Helper()
	ours := map[string]bool{}
	for table, columns := range pgtest.EmbeddedColumns(t) {
		for _, column := range columns {
			ours[table+"."+column] = true
		}
	}
	rows, err := pool.Query(context.Background(), `
		SELECT c.conname, cl.relname, coalesce(a.attname, ''), coalesce(format_type(a.atttypid, a.atttypmod), ''),
		       coalesce(a.attcollation <> 0, false), pg_get_expr(c.conbin, c.conrelid), coalesce(cardinality(c.conkey), 0)
		FROM pg_constraint c
		JOIN pg_class cl ON cl.oid = c.conrelid
		LEFT JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] AND cardinality(c.conkey) = 1
		WHERE c.contype = 'c' AND cl.relnamespace = current_schema()::regnamespace
		ORDER BY cl.relname, a.attname, c.conname`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var name, table, column, typ, expr string
		var collatable bool
		var nkeys int
		require.NoError(t, rows.Scan(&name, &table, &column, &typ, &collatable, &expr, &nkeys))
		if _, ok := goValidators[table+"."+column]; nkeys != 1 || (!ok && !ours[table+"."+column]) {
			unfed = append(unfed, table+"."+name)
			continue
		}
		if n := len(cols); n > 0 && cols[n-1].table == table && cols[n-1].column == column {
			cols[n-1].exprs = append(cols[n-1].exprs, expr)
			cols[n-1].names = append(cols[n-1].names, name)
			continue
		}
		cols = append(cols, checkedColumn{table: table, column: column, typ: typ, collatable: collatable,
			exprs: []string{expr}, names: []string{name}})
	}
	require.NoError(t, rows.Err())
	for key := range goValidators {
		require.True(t, slices.ContainsFunc(cols, func(c checkedColumn) bool { return c.key() == key }),
			"goValidators has %s, and no CHECK over that column alone", key)
	}
	return cols, unfed
}

// collations are the collations the CHECKs are evaluated under: the
// database's default, C, ICU's root, and one libc locale if the server has one.
func collations(t testing.TB, pool *pgxpool.Pool) []string {
	t.Helper()
	colls := []string{"", "C", "und-x-icu"}
	var libc string
	err := pool.QueryRow(context.Background(), `
		SELECT coalesce(min(collname), '') FROM pg_collation
		WHERE collprovider = 'c' AND collname NOT IN ('C', 'POSIX', 'default')
		  AND collencoding IN (-1, pg_char_to_encoding('UTF8'))`).Scan(&libc)
	require.NoError(t, err)
	if libc != "" {
		colls = append(colls, libc)
	}
	return colls
}

// checksAgree evaluates every column's CHECKs on its values under each
// collation, in one round trip, and compares with Go's verdict.
type checksAgree struct {
	pool  *pgxpool.Pool
	cols  []checkedColumn
	colls []string
}

// newChecksAgree reads the CHECKs of the grown schema (pgtest.Grown), which
// has CHECKs of every kind a user may add, and names in the log those it
// cannot compare with Go (see checkedColumns).
func newChecksAgree(t testing.TB) checksAgree {
	pool := pgtest.NewGrownPool(t)
	cols, unfed := checkedColumns(t, pool)
	if len(unfed) > 0 {
		t.Logf("CHECKs with no Go validator to compare with (over several columns, or a column the repository does not write): %s",
			strings.Join(unfed, ", "))
	}
	return checksAgree{pool: pool, cols: cols, colls: collations(t, pool)}
}

// values builds each column's values from the fuzzer's inputs.
func (c checksAgree) values(col checkedColumn, s string, n int32, f float64) []any {
	switch typ := col.typ; {
	case typ == "text" || strings.HasPrefix(typ, "character"): // varchar(n), char(n) too
		k := 1 + int(uint32(n)%301)
		if len(s)*k > 4000 {
			k = 1
		}
		vs := []string{s, "a" + s + "b", "a" + s + "@example.com", "a@b" + s + ".io", s + "@" + s + "." + s,
			"https://x" + s, "http://" + s, strings.Repeat(s, k), strings.ToLower(strings.TrimSpace(s))}
		out := make([]any, len(vs))
		for i, v := range vs {
			out[i] = v
		}
		return out
	case typ == "integer":
		return []any{n, int32(int8(n)), int32(uint8(n))}
	case typ == "bigint":
		return []any{int64(n), int64(int8(n)), int64(n) << 32, -int64(n) << 31}
	case typ == "smallint":
		return []any{int16(n), int16(int8(n)), int16(uint8(n))}
	case typ == "double precision":
		return []any{f, math.Mod(f, 8), float64(n) / 16}
	case typ == "real":
		return []any{float32(f), float32(math.Mod(f, 8)), float32(n) / 16}
	case typ == "boolean":
		return []any{true, false}
	case typ == "timestamp with time zone" || typ == "date":
		t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		return []any{t0.Add(time.Duration(n) * time.Second), t0.AddDate(int(int8(n)), 0, 0), t0.AddDate(0, 0, int(n)%36500)}
	}
	return nil // the test names the column and its type: add a case above
}

func (c checksAgree) run(t *testing.T, inputs func(col checkedColumn) []any) {
	t.Helper()
	ctx := context.Background()
	type job struct {
		col      checkedColumn
		coll     string
		vals     []any // sent to the server
		verdicts []bool
	}
	var jobs []*job
	batch := &pgx.Batch{}
	for _, col := range c.cols {
		validate, ok := goValidators[col.key()]
		require.True(t, ok, "%s has CHECK constraints %v and no Go validator: declare its rule in one line (requiredText, optionalText, inRange or declareRule: rules.go)", col.key(), col.names)
		vals := inputs(col)
		require.NotEmpty(t, vals, "no values for %s of type %s", col.key(), col.typ)
		var sent []any
		for _, v := range vals {
			if s, ok := v.(string); ok && (!utf8.ValidString(s) || strings.ContainsRune(s, 0)) {
				// text cannot hold it: Go must refuse it.
				_, err := validate(v)
				require.ErrorIs(t, err, ErrInvalid, "%s: %q", col.key(), s)
				continue
			}
			stored, err := validate(v)
			if err == nil {
				v = stored // the CHECK sees what Go would store
			}
			sent = append(sent, v)
		}
		colls := []string{""}
		if col.collatable {
			colls = c.colls
		}
		conds := make([]string, len(col.exprs))
		for i, e := range col.exprs {
			conds[i] = "coalesce((" + e + "), true)"
		}
		for _, coll := range colls {
			v := "v"
			if coll != "" {
				v += " COLLATE " + pgx.Identifier{coll}.Sanitize()
			}
			sql := fmt.Sprintf(`SELECT coalesce(array_agg(%s ORDER BY n), '{}') FROM (SELECT %s AS %s, n FROM unnest($1::%s[]) WITH ORDINALITY AS u (v, n)) AS t`,
				strings.Join(conds, " AND "), v, pgx.Identifier{col.column}.Sanitize(), col.typ)
			j := &job{col: col, coll: coll, vals: sent}
			jobs = append(jobs, j)
			batch.Queue(sql, sent).QueryRow(func(row pgx.Row) error { return row.Scan(&j.verdicts) })
		}
	}
	require.NoError(t, c.pool.SendBatch(ctx, batch).Close())
	for _, j := range jobs {
		require.Len(t, j.verdicts, len(j.vals))
		validate := goValidators[j.col.key()]
		for i, v := range j.vals {
			_, goErr := validate(v)
			dbOK := j.verdicts[i]
			switch {
			case goErr == nil && !dbOK:
				t.Errorf("%s %q: Go accepts, CHECKs %v refuse (collation %q)", j.col.key(), v, j.col.names, j.coll)
			case goErr != nil && dbOK:
				if d, ok := goOnly[j.col.key()]; ok && d.is(v) {
					continue // a difference we name: d.why
				}
				t.Errorf("%s %q: Go refuses (%v), CHECKs %v accept (collation %q)", j.col.key(), v, goErr, j.col.names, j.coll)
			}
		}
	}
}

// FuzzChecksAgree: every value Go's validation accepts, the schema's CHECKs
// accept, and every value it refuses, they refuse (but goOnly's), under any
// collation. `go test -fuzz=FuzzChecksAgree ./internal/repo` explores further.
func FuzzChecksAgree(f *testing.F) {
	for _, s := range []string{
		"alice", "a\vb", "\v", "\u00a0", "a\u00a0b", "\u2028", "\u3000", "\u200b", "\ufeff", "\u180e", "\u2060",
		"\u200c", "\u0085", "\u1680", "\u202f", "\t\n\r\f", "\x1c\x1d\x1e\x1f", " x ", "go", "Go", "how-to", "-x",
		"\u212a", "ÉMILE", "zoë", "\U0001E4EC", "\U00010D50", "x\x00y", "\xff", "", "@", "a.b", "名前",
		strings.Repeat("é", 127), strings.Repeat("x", 2001),
	} {
		f.Add(s, int32(0), 0.0)
	}
	f.Add("x", int32(150), 5.0)
	f.Add("x", int32(151), 5.000001)
	f.Add("x", int32(-1), math.Copysign(0, -1))
	f.Add("x", int32(254), math.NaN())
	f.Add("x", int32(199), math.Inf(1))
	c := newChecksAgree(f)
	f.Fuzz(func(t *testing.T, s string, n int32, fl float64) {
		c.run(t, func(col checkedColumn) []any { return c.values(col, s, n, fl) })
	})
}

// TestChecksAgreeOnSpaceLikeCharacters runs the same comparison on every code
// point that any engine might call a space, a control or an invisible format
// character, and on Latin-1, each alone and inside a name, an email and a URL.
func TestChecksAgreeOnSpaceLikeCharacters(t *testing.T) {
	t.Parallel()
	var runes []rune
	for r := rune(1); r <= unicode.MaxRune; r++ {
		if r < 0x100 || unicode.In(r, unicode.Z, unicode.Cc, unicode.Cf) || unicode.IsSpace(r) {
			runes = append(runes, r)
		}
	}
	c := newChecksAgree(t)
	c.run(t, func(col checkedColumn) []any {
		var vals []any
		for _, r := range runes {
			vals = append(vals, c.values(col, string(r), 0, 0)...)
		}
		if col.typ != "text" {
			for n := int32(-2); n <= 302; n++ {
				vals = append(vals, c.values(col, "", n, float64(n)/50)...)
			}
		}
		return vals
	})
}

// TestChecksSpellBlankRanges: every CHECK of the schema that names a blank
// character names them all, as blankRanges does (so Go's regexes and the
// schema's are built from one list), and none relies on a class whose meaning
// depends on the collation or the engine.
func TestChecksSpellBlankRanges(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	defs := map[string]string{}
	rows, err := pool.Query(context.Background(), `
		SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
		WHERE contype = 'c' AND connamespace = current_schema()::regnamespace`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var name, def string
		require.NoError(t, rows.Scan(&name, &def))
		defs[name] = def
	}
	require.NoError(t, rows.Err())
	localeClass := regexp.MustCompile(`\[:[a-z]+:\]|\\[sSwWdD]`)
	var spelled int
	for name, def := range defs {
		require.NotRegexp(t, localeClass, def, "%s uses a class whose meaning depends on the collation", name)
		if strings.Contains(def, `\u0009`) || strings.Contains(def, `\u00a0`) {
			spelled++
			stripped := strings.ReplaceAll(def, pgBlank, "")
			require.NotContains(t, stripped, `\u`, "%s names blank characters other than blankRanges: %s", name, def)
		}
	}
	require.Positive(t, spelled, "no CHECK spells the blank characters")
}

// TestCheckValuesCoverColumnTypes: the differential tests have values for a
// CHECKed column of every common type a user's table may have (a bigint CHECK
// failed them once), and the server takes each as that type.
func TestCheckValuesCoverColumnTypes(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	c := checksAgree{pool: pool}
	for _, typ := range []string{"text", "character varying(80)", "integer", "bigint", "smallint",
		"double precision", "real", "boolean", "timestamp with time zone", "date"} {
		vals := c.values(checkedColumn{typ: typ}, "x", 7, 1.5)
		require.NotEmpty(t, vals, typ)
		var n int
		require.NoError(t, pool.QueryRow(context.Background(), "SELECT cardinality($1::"+typ+"[])", vals).Scan(&n), typ)
		require.Equal(t, len(vals), n, typ)
	}
}
