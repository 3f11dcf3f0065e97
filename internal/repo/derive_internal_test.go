package repo

import (
	"context"
	"reflect"
	"testing"
	"time"
	"unsafe"

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

// TestNullSlots: a joined child's scan targets, filled by pgx from the
// server's values, store a column's value, or its type's zero for NULL,
// into the field at their offset: typed for the common types, by
// reflection for a type slotMaker does not know; a value the field cannot
// hold is an error, not a wrong value.
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
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	rt := reflect.TypeFor[row]()
	scan := func(sql string) (row, []nullSlot, error) {
		slots := make([]nullSlot, rt.NumField())
		dests := make([]any, len(slots))
		for i := range slots {
			slots[i] = slotMaker(fieldAt(rt, []int{i}))()
			dests[i] = slots[i].target()
		}
		got := row{ID: -1, Name: "before", Note: new(string)} // NULL must overwrite these
		err := pool.QueryRow(ctx, sql).Scan(dests...)
		for _, s := range slots {
			s.store(unsafe.Pointer(&got))
		}
		return got, slots, err
	}

	got, slots, err := scan(`SELECT 7::bigint, 30::int, 'Ann'::text, true, 4.5::float8,
		'2026-01-02 03:04:05.000006+00'::timestamptz, 'n'::text, 3::smallint`)
	require.NoError(t, err)
	for _, s := range slots {
		require.False(t, s.null())
	}
	note := "n"
	want := row{ID: 7, Age: 30, Name: "Ann", Published: true, Rating: 4.5,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Note: &note, Small: 3}
	require.True(t, want.CreatedAt.Equal(got.CreatedAt), got.CreatedAt)
	got.CreatedAt = want.CreatedAt
	require.Equal(t, want, got)

	got, slots, err = scan(`SELECT NULL::bigint, NULL::int, NULL::text, NULL::bool, NULL::float8,
		NULL::timestamptz, NULL::text, NULL::smallint`)
	require.NoError(t, err)
	for _, s := range slots {
		require.True(t, s.null())
	}
	require.Equal(t, row{}, got)

	_, _, err = scan(`SELECT 1::bigint, 3000000000::bigint, 'a', true, 1.0::float8, now(), NULL, 1::smallint`)
	require.ErrorContains(t, err, "3000000000 is out of range for int32")
	_, _, err = scan(`SELECT 1::bigint, 1, 'a', true, 1.0::float8, 'infinity'::timestamptz, NULL, 1::smallint`)
	require.ErrorContains(t, err, "cannot scan infinity into time.Time")
}
