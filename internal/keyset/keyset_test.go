package keyset_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/keyset"
)

var things = keyset.New(keyset.Decl{
	Name: "things", Table: "things",
	Columns: []string{"id", "score", "at"},
	Tie:     []keyset.Key{{Column: "id", Type: keyset.Int64}},
	Orders: []keyset.Order{
		{Name: "id"},
		{Name: "score", Keys: []keyset.Key{{Column: "score", Type: keyset.Int32}}},
		{Name: "at", Keys: []keyset.Key{{Column: "at", Type: keyset.Time}}},
	},
	Filters: []keyset.Filter{
		{Name: "min_score", SQL: "score >= @min_score", Column: "score"},
		{Name: "kind", SQL: "kind = @kind AND @kind <> ''"},
	},
	Children: []keyset.Child{{Name: "parts", Table: "parts c", Columns: "c.id", On: "c.thing_id = page.id", In: "c.thing_id = ANY (ARRAY(SELECT id FROM page))", Key: "c.thing_id", OrderBy: "c.id"}},
})

func TestStatements(t *testing.T) {
	first, err := things.Page(keyset.Query{Order: "score", Filters: []keyset.Arg{{Filter: "kind", Values: []any{"x"}}}, Limit: 10})
	require.NoError(t, err)
	sql, args := first.SQL()
	require.Equal(t, keyset.Header("things")+`SELECT id, score, at FROM things WHERE coalesce((kind = $1 AND $1 <> ''), false) ORDER BY score, id LIMIT $2`, sql)
	require.Equal(t, []any{"x", int64(11)}, args)

	next := first.Next(func(col string) any { return map[string]any{"id": int64(7), "score": int32(3)}[col] })
	page, err := things.Page(keyset.Query{Order: "score", Desc: false, After: next, Limit: 10,
		Filters: []keyset.Arg{{Filter: "kind", Values: []any{"x"}}, {Filter: "min_score", Values: []any{int32(2)}}}})
	require.NoError(t, err)
	sql, args = page.SQL()
	require.Equal(t, keyset.Header("things")+`SELECT id, score, at FROM things WHERE (score >= $1) AND coalesce((kind = $2 AND $2 <> ''), false) AND (score, id) > ($3, $4) ORDER BY score, id LIMIT $5`, sql)
	require.Equal(t, []any{int32(2), "x", int32(3), int64(7), int64(11)}, args)
	again, _ := page.SQL()
	require.Equal(t, sql, again, "one text per shape")

	sql, args = page.SelectIn("parts")
	require.Equal(t, keyset.Header("things")+`WITH page AS (SELECT id, score, at FROM things WHERE (score >= $1) AND coalesce((kind = $2 AND $2 <> ''), false) AND (score, id) > ($3, $4) ORDER BY score, id LIMIT $5) SELECT c.id FROM parts c WHERE c.thing_id = ANY (ARRAY(SELECT id FROM page)) ORDER BY c.thing_id, c.id`, sql)
	require.Equal(t, int64(10), args[len(args)-1], "the children of the page, not of the row after it")
	sql, _ = page.Joined("parts")
	require.Contains(t, sql, `SELECT page.id, page.score, page.at, c.id FROM page LEFT JOIN parts c ON c.thing_id = page.id ORDER BY page.score, page.id, c.id`)

	desc, err := things.Page(keyset.Query{Order: "id", Desc: true, Limit: 1, After: mustNext(t, "id", true, int64(5))})
	require.NoError(t, err)
	sql, args = desc.SQL()
	require.Equal(t, keyset.Header("things")+`SELECT id, score, at FROM things WHERE id < $1 ORDER BY id DESC LIMIT $2`, sql)
	require.Equal(t, []any{int64(5), int64(2)}, args)
}

func mustNext(t *testing.T, order string, desc bool, id int64, more ...any) string {
	t.Helper()
	p, err := things.Page(keyset.Query{Order: order, Desc: desc, Limit: 1})
	require.NoError(t, err)
	return p.Next(func(col string) any {
		if col == "id" {
			return id
		}
		return more[0]
	})
}

func TestTimeCursor(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 11, 12, 345678000, time.UTC)
	p, err := things.Page(keyset.Query{Order: "at", After: mustNext(t, "at", false, 9, at), Limit: 5})
	require.NoError(t, err)
	_, args := p.SQL()
	require.Equal(t, []any{at, int64(9), int64(6)}, args)

	_, err = things.Page(keyset.Query{Order: "at", Desc: true, After: mustNext(t, "at", false, 9, at), Limit: 5})
	var ce *keyset.CursorError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, `is for a list ordered by "at", not "at" descending`, ce.Reason)
}

func TestShapes(t *testing.T) {
	// 3 orders, 2 directions, 4 filter sets, first page or not; the page
	// and the child joined and select-in.
	require.Len(t, things.Shapes(), 3*2*4*2*3)
}

func TestRequiredFilter(t *testing.T) {
	mine := keyset.New(keyset.Decl{
		Name: "mine", Table: "mine",
		Columns: []string{"owner", "id"},
		Tie:     []keyset.Key{{Column: "id", Type: keyset.Int64}},
		Orders:  []keyset.Order{{Name: "id"}},
		Filters: []keyset.Filter{
			{Name: "owner", SQL: "owner = @owner", Prefix: true, Required: true},
			{Name: "min_id", SQL: "id >= @min_id", Column: "id"},
		},
	})
	_, err := mine.Page(keyset.Query{Limit: 5, Filters: []keyset.Arg{{Filter: "min_id", Values: []any{int64(1)}}}})
	require.ErrorContains(t, err, `filter "owner" is required`)
	p, err := mine.Page(keyset.Query{Limit: 5, Filters: []keyset.Arg{{Filter: "owner", Values: []any{int64(3)}}}})
	require.NoError(t, err)
	sql, _ := p.SQL()
	require.Equal(t, keyset.Header("mine")+`SELECT owner, id FROM mine WHERE (owner = $1) ORDER BY id LIMIT $2`, sql)
	// 2 directions, the 2 filter sets with owner, first page or not.
	shapes := mine.Shapes()
	require.Len(t, shapes, 2*2*2)
	for _, sh := range shapes {
		require.Contains(t, sh.Filters, "owner")
	}
}
