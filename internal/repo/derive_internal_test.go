package repo

import (
	"context"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// TestDeriveRefusesMismatches: a list or child whose columns do not match
// the struct's fields panics when declared, naming what is missing.
func TestDeriveRefusesMismatches(t *testing.T) {
	t.Parallel()
	type noBody struct {
		ID, UserID, PostID int64
		AuthorName         string
	}
	require.PanicsWithValue(t, "repo: list comments: column body has no field in repo.noBody (named Body or tagged `db:\"body\"`)",
		func() { listOf[noBody](commentsList) })
	type noAuthor struct {
		ID, UserID, PostID int64
		Body               string
	}
	require.PanicsWithValue(t, "repo: list comments: column u.name AS author_name has no field in repo.noAuthor (named AuthorName or tagged `db:\"author_name\"`)",
		func() { listOf[noAuthor](commentsList) })
	type stringID struct {
		ID    string
		Name  string
		Age   int32
		Other string `db:"created_at"`
	}
	require.PanicsWithValue(t, "repo: list users: the id field at [0] of repo.stringID is string, not int64",
		func() { listOf[stringID](usersList) })
	require.PanicsWithValue(t, `repo: list users has no child "friends"`,
		func() { childOf(usersList, "friends", userAddresses) })
	type noEmail struct{ ID, UserID int64 }
	require.Panics(t, func() { childOf(usersList, "addresses", relation[User, noEmail]{}) })
	type oneID struct{ ID int64 }
	require.PanicsWithValue(t, "repo: list joined: columns p.id and u.id both fill field ID of repo.oneID (alias one: AS <name>)",
		func() { fieldPaths(reflect.TypeFor[oneID](), "list joined", []string{"p.id", "u.id"}, "") })
}

// TestDeriveTags: a field tagged `db:"..."` takes the column of that name,
// whatever the field's own name.
func TestDeriveTags(t *testing.T) {
	t.Parallel()
	type tagged struct {
		Key     int64  `db:"id"`
		Author  int64  `db:"user_id"`
		Post    int64  `db:"post_id"`
		Text    string `db:"body"`
		Written string `db:"author_name"`
	}
	l := listOf[tagged](commentsList)
	var v tagged
	require.Equal(t, []any{&v.Key, &v.Author, &v.Post, &v.Text, &v.Written}, l.dests(&v))
	v.Key = 7
	require.Equal(t, int64(7), l.column(v, "id"))
}

// scanSlots scans one row of sql into an R through slotMaker's slots, as a
// joined child's columns are, in the given query mode, and stores it; the
// fields are set beforehand (NULL must overwrite them).
func scanSlots[R any](ctx context.Context, pool *pgxpool.Pool, mode pgx.QueryExecMode, before R, sql string) (R, []nullSlot, error) {
	rt := reflect.TypeFor[R]()
	slots := make([]nullSlot, rt.NumField())
	dests := make([]any, len(slots))
	for i := range slots {
		slots[i] = slotMaker(fieldAt(rt, []int{i}))()
		dests[i] = slots[i].target()
	}
	got := before
	err := pool.QueryRow(ctx, sql, mode).Scan(dests...)
	for _, s := range slots {
		s.store(unsafe.Pointer(&got))
	}
	return got, slots, err
}

// TestNullSlots: a joined child's scan targets, filled by pgx from the
// server's values (binary, and text as through the simple protocol), store a
// column's value, or its type's zero for NULL, into the field at their
// offset: typed for the common types, by reflection for a type slotMaker
// does not know; a value the field cannot hold is an error, not a wrong
// value. Columns of other types than the typed methods' (json, timestamp,
// date, an integer into a float64) scan as they would into a *T.
func TestNullSlots(t *testing.T) {
	t.Parallel()
	type row struct {
		ID        int64
		Age       int32
		Name      string
		Published bool
		Rating    float64
		CreatedAt time.Time
		Note      *string // a nullable column
		Small     int16   // by reflection
	}
	type other struct {
		Doc   string    // jsonb
		Code  string    // varchar
		At    time.Time // timestamp without time zone
		Day   time.Time // date
		Score float64   // integer
		Tiny  int32     // smallint
	}
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	before := row{ID: -1, Name: "before", Note: new(string)}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		got, slots, err := scanSlots(ctx, pool, mode, before, `SELECT 7::bigint, 30::int, 'Ann'::text, true, 4.5::float8,
			'2026-01-02 03:04:05.000006+00'::timestamptz, 'n'::text, 3::smallint`)
		require.NoError(t, err, mode)
		for _, s := range slots {
			require.False(t, s.null())
		}
		note := "n"
		want := row{ID: 7, Age: 30, Name: "Ann", Published: true, Rating: 4.5,
			CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Note: &note, Small: 3}
		require.True(t, want.CreatedAt.Equal(got.CreatedAt), "%v: %v", mode, got.CreatedAt)
		got.CreatedAt = want.CreatedAt
		require.Equal(t, want, got, mode)

		got, slots, err = scanSlots(ctx, pool, mode, before, `SELECT NULL::bigint, NULL::int, NULL::text, NULL::bool,
			NULL::float8, NULL::timestamptz, NULL::text, NULL::smallint`)
		require.NoError(t, err, mode)
		for _, s := range slots {
			require.True(t, s.null())
		}
		require.Equal(t, row{}, got, mode)

		_, _, err = scanSlots(ctx, pool, mode, before, `SELECT 1::bigint, 3000000000::bigint, 'a', true, 1.0::float8, now(), NULL, 1::smallint`)
		require.ErrorContains(t, err, "3000000000", mode)
		_, _, err = scanSlots(ctx, pool, mode, before, `SELECT 1::bigint, 1, 'a', true, 1.0::float8, 'infinity'::timestamptz, NULL, 1::smallint`)
		require.ErrorContains(t, err, "nfinity", mode)

		o, _, err := scanSlots(ctx, pool, mode, other{Doc: "before"}, `SELECT '{"a": 1}'::jsonb, 'x'::varchar,
			'2026-01-02 03:04:05'::timestamp, '2026-01-02'::date, 5::int, 2::smallint`)
		require.NoError(t, err, mode)
		require.Equal(t, `{"a": 1}`, o.Doc, mode)
		require.Equal(t, "x", o.Code, mode)
		require.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), o.At.UTC(), mode)
		require.Equal(t, "2026-01-02", o.Day.Format(time.DateOnly), mode)
		require.Equal(t, 5.0, o.Score, mode)
		require.Equal(t, int32(2), o.Tiny, mode)
		o, _, err = scanSlots(ctx, pool, mode, other{Doc: "before", Score: 1}, `SELECT NULL::jsonb, NULL::varchar,
			NULL::timestamp, NULL::date, NULL::int, NULL::smallint`)
		require.NoError(t, err, mode)
		require.Equal(t, other{}, o, mode)
	}
}
