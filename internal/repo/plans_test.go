package repo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/keyset"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// planSamples are the values EXPLAIN EXECUTE gives a filter's parameters, by
// name; a parameter not named here gets a value of its type.
var planSamples = map[string]string{
	"min_age": "20", "max_age": "60", "name_prefix": "'b'",
	"created_since": "now() - interval '8000 minutes'",
}

// TestListPlans checks every statement every keyset list can send (each
// order, direction, set of filters, first page or not; the page, and each
// child joined and select-in), enumerated from the lists' declarations: it
// is valid against the schema (it prepares), and its plan, generic
// (plan_cache_mode = force_generic_plan, what a statement prepared once and
// run many times gets) and custom (the default's first runs), on a few
// twenty thousand analyzed users, scans the list's table by an index; with a
// cursor, by an Index Cond on the order's keys and the tie-break, a seek.
func TestListPlans(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	pool := pgtest.NewPool(t)
	for _, s := range []string{
		`INSERT INTO users (name, age, created_at)
		 SELECT chr(97 + (i * 7) % 26) || '-user-' || i, i % 90, now() - i * interval '1 minute'
		 FROM generate_series(1, 20000) i`,
		`INSERT INTO addresses (user_id, email)
		 SELECT u.id, 'u' || u.id || '-' || n || '@example.com' FROM users u, generate_series(1, 2) n`,
		`INSERT INTO posts (user_id, title, published, created_at)
		 SELECT u.id, 'Post ' || n, n = 1, u.created_at FROM users u, generate_series(1, 2) n`,
		`INSERT INTO tags (name) SELECT 'tag-' || i FROM generate_series(1, 2000) i`,
		`INSERT INTO post_tags (user_id, post_id, tag_id) SELECT p.user_id, p.id, t.id FROM posts p, tags t WHERE t.id IN (p.id % 2000 + 1, (p.id + 7) % 2000 + 1)`,
		// Each user follows five others (ids from 1, the database being new).
		`INSERT INTO follows (user_id, followee_id, created_at)
		 SELECT u.id, (u.id + n * 7919) % 20000 + 1, u.created_at FROM users u, generate_series(1, 5) n`,
		`INSERT INTO followers (user_id, follower_id, created_at) SELECT followee_id, user_id, created_at FROM follows`,
		`ANALYZE`,
	} {
		_, err := pool.Exec(ctx, s)
		require.NoError(t, err)
	}
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()

	// On Citus the coordinator plans a distributed statement for each call
	// (it cannot make a generic plan of one: "could not create distributed
	// plan"), and sends the shards its text with the values: their plans,
	// EXPLAIN's Remote Plan, are the custom ones.
	modes := []string{"force_generic_plan", "auto"}
	if pgtest.Citus() {
		modes = modes[1:]
	}
	checked := 0
	var unfilled []string
	for _, l := range repo.Lists() {
		// Over a table without rows (a list of yours over a table the
		// statements above do not fill) any plan is as cheap as any other:
		// the planner rightly reads the nothing there is and sorts it. There
		// the generic plans are made with sequential scans, bitmap scans and
		// sorts disabled, which still shows that an index serves each
		// statement (with a cursor, one that seeks on the order's keys), and
		// the custom plans are not checked; the log names such lists.
		listModes := modes
		var hasRows bool
		require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT EXISTS (SELECT 1 FROM %s)", pgx.Identifier{l.Table()}.Sanitize())).Scan(&hasRows))
		if !hasRows {
			listModes = slices.DeleteFunc(slices.Clone(modes), func(m string) bool { return m != "force_generic_plan" })
			unfilled = append(unfilled, fmt.Sprintf("%s (table %s)", l.Name(), l.Table()))
			for _, s := range []string{"SET enable_seqscan = off", "SET enable_bitmapscan = off", "SET enable_sort = off"} {
				_, err := conn.Exec(ctx, s)
				require.NoError(t, err)
			}
		}
		for i, sh := range l.Shapes() {
			name := fmt.Sprintf("%s: order %s desc %v filters %v after %v child %q joined %v",
				l.Name(), sh.Order, sh.Desc, sh.Filters, sh.After, sh.Child, sh.Joined)
			stmt := fmt.Sprintf("plan_%s_%d", l.Name(), i)
			desc, err := conn.Conn().Prepare(ctx, stmt, sh.SQL)
			require.NoError(t, err, "%s: prepare\n%s", name, sh.SQL)
			args := planArgs(l, sh, desc.ParamOIDs)
			var childKey string // the column a select-in finds the children by
			for _, c := range l.Decl().Children {
				if c.Name == sh.Child && !sh.Joined {
					childKey = c.Key[strings.LastIndex(c.Key, ".")+1:]
				}
			}
			for _, mode := range listModes {
				_, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode)
				require.NoError(t, err)
				var plan []byte
				err = conn.QueryRow(ctx, fmt.Sprintf("EXPLAIN (FORMAT JSON) EXECUTE %s(%s)", stmt, strings.Join(args, ", "))).Scan(&plan)
				require.NoError(t, err, "%s: explain\n%s", name, sh.SQL)
				checkPlan(t, l.Table(), sh, childKey, plan, mode == "force_generic_plan", fmt.Sprintf("%s, %s\n%s", name, mode, sh.SQL))
				checked++
			}
			_, err = conn.Exec(ctx, "DEALLOCATE "+stmt)
			require.NoError(t, err)
		}
		for _, s := range []string{"RESET enable_seqscan", "RESET enable_bitmapscan", "RESET enable_sort"} {
			_, err := conn.Exec(ctx, s)
			require.NoError(t, err)
		}
	}
	_, err = conn.Exec(ctx, "RESET plan_cache_mode")
	require.NoError(t, err)
	t.Logf("%d plans checked", checked)
	if len(unfilled) > 0 {
		t.Logf("lists over a table without rows, their generic plans checked with sequential scans, bitmap scans and sorts off, their custom plans not checked (none on Citus; enough for a list of yours, no edit needed: an INSERT for its table at the top of TestListPlans would check those too): %s",
			strings.Join(unfilled, ", "))
	}
}

// TestListKeys: every key a list orders by, and its tie-break, is a column
// of the list's table that is NOT NULL (a NULL compares as unknown: a row
// with one is never after a cursor, lost between pages) and of its key's
// type (a Time key on a timestamp without time zone would compare in the
// session's time zone), from the catalog.
func TestListKeys(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	// The column types a key of each type may have.
	types := map[keyset.Type][]string{keyset.Int64: {"bigint"}, keyset.Int32: {"integer"},
		keyset.Text: {"text", "character varying"}, keyset.Time: {"timestamp with time zone"}}
	checked := 0
	for _, l := range repo.Lists() {
		d := l.Decl()
		keys := slices.Clone(d.Tie)
		for _, o := range d.Orders {
			keys = append(keys, o.Keys...)
		}
		for _, k := range keys {
			var notNull bool
			var typ string
			err := pool.QueryRow(bg, `SELECT attnotnull, format_type(atttypid, NULL) FROM pg_attribute
				WHERE attrelid = to_regclass($1) AND attname = $2 AND attnum > 0 AND NOT attisdropped`, l.Table(), k.Column).Scan(&notNull, &typ)
			require.NoError(t, err, "list %s: its key %s is not a column of table %s", l.Name(), k.Column, l.Table())
			require.True(t, notNull, "list %s: its key %s (table %s) may be NULL, and a row with a NULL key is never after a cursor: make the column NOT NULL", l.Name(), k.Column, l.Table())
			require.Contains(t, types[k.Type], typ, "list %s: its key %s is declared %s, but the column is %s", l.Name(), k.Column, k.Type, typ)
			checked++
		}
	}
	require.NotZero(t, checked)
}

// planArgs are SQL literals for a shape's parameters: its filters' (by
// planSamples), its cursor's keys (middling values), and the limit.
func planArgs(l *keyset.List, sh keyset.Shape, oids []uint32) []string {
	var args []string
	for _, f := range sh.Filters {
		for _, p := range l.Params(f) {
			args = append(args, planSamples[p])
		}
	}
	if sh.After {
		for _, k := range sh.Keys {
			switch k.Type {
			case keyset.Int64:
				args = append(args, "10000")
			case keyset.Int32:
				args = append(args, "40")
			case keyset.Text: // within the sample prefix: values that contradict it plan to nothing
				args = append(args, "'b-user'")
			case keyset.Time:
				args = append(args, "now() - interval '10000 minutes'")
			}
		}
	}
	args = append(args, "51")
	for i, a := range args {
		if a == "" { // a filter parameter without a sample: a value of its type
			switch oids[i] {
			case pgtype.TextOID:
				args[i] = "'m'"
			case pgtype.TimestamptzOID:
				args[i] = "now()"
			case pgtype.BoolOID:
				args[i] = "true"
			default:
				args[i] = "1"
			}
		}
	}
	return args
}

// checkPlan requires an index scan of table that seeks: with a cursor, one
// whose Index Cond compares the order's keys and the tie-break; in a generic
// select-in plan, an index scan whose condition is on childKey, the column
// the children are found by: not the child table read whole and hashed, nor
// a seek by another column and a filter on it (a joined lookup table, such
// as tags, may be read whole if the planner finds that cheaper). A custom
// plan (strict false), made for the values given, may instead reach the
// table by another index (a selective filter's, a bitmap scan) and sort the
// few rows it finds: any index access passes there.
func checkPlan(t *testing.T, table string, sh keyset.Shape, childKey string, plan []byte, strict bool, what string) {
	t.Helper()
	var doc any
	require.NoError(t, json.Unmarshal(plan, &doc))
	// On Citus the scans are of the table's shards (users_102008), in the
	// plans of the tasks the coordinator sends.
	ofTable := func(v map[string]any) bool {
		rel, _ := v["Relation Name"].(string)
		suffix, ok := strings.CutPrefix(rel, table)
		return ok && (suffix == "" || strings.Trim(suffix, "_0123456789") == "")
	}
	var conds []string // of the index scans of table
	var childSeek bool // an index condition names childKey
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			switch nt, _ := v["Node Type"].(string); {
			case (nt == "Index Scan" || nt == "Index Only Scan") && ofTable(v):
				cond, _ := v["Index Cond"].(string)
				conds = append(conds, cond)
			case nt == "Bitmap Heap Scan" && ofTable(v) && !strict:
				cond, _ := v["Recheck Cond"].(string)
				conds = append(conds, cond)
			}
			if cond, _ := v["Index Cond"].(string); childKey != "" && strings.Contains(cond, childKey) {
				childSeek = true
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
	if len(conds) == 0 {
		t.Errorf("%s: no index scan of %s\n%s", what, table, brief(doc))
		return
	}
	// A select-in statement reads the children of the page's rows by an
	// index, as a hand-written one does by ids, not the child table whole.
	if strict && childKey != "" && !childSeek {
		t.Errorf("%s: select-in finds no child by an index on %s\n%s", what, childKey, brief(doc))
	}
	if !sh.After || !strict {
		return
	}
	for _, cond := range conds {
		seeks := true
		for _, k := range sh.Keys {
			seeks = seeks && strings.Contains(cond, k.Column)
		}
		if seeks {
			return
		}
	}
	t.Errorf("%s: no index scan of %s seeks on %v\n%s", what, table, sh.Keys, brief(doc))
}

// brief is a plan's nodes, one a line: type, index, conditions.
func brief(plan any) string {
	var b strings.Builder
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		switch v := v.(type) {
		case map[string]any:
			if nt, ok := v["Node Type"].(string); ok {
				fmt.Fprintf(&b, "%s%s", strings.Repeat("  ", depth), nt)
				for _, k := range []string{"Relation Name", "Index Name", "Index Cond", "Recheck Cond", "Filter", "Sort Key"} {
					if x, ok := v[k]; ok {
						fmt.Fprintf(&b, " %s=%v", k, x)
					}
				}
				b.WriteString("\n")
				depth++
			}
			for k, c := range v {
				if k == "Plans" || k == "Plan" {
					walk(c, depth)
				}
			}
		case []any:
			for _, c := range v {
				walk(c, depth)
			}
		}
	}
	walk(plan, 0)
	return b.String()
}
