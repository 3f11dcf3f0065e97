package repo

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
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

// TestNullSlots: a joined child's scan targets store a column's value, or
// its type's zero for NULL, into the field at their offset, typed or (for a
// type slotMaker does not know) by reflection.
func TestNullSlots(t *testing.T) {
	t.Parallel()
	type row struct {
		A int64
		B int16 // by reflection
		C *string
	}
	rt := reflect.TypeFor[row]()
	var slots []nullSlot
	for i := range rt.NumField() {
		slots = append(slots, slotMaker(fieldAt(rt, []int{i}))())
	}
	a, b, c := int64(7), int16(3), "c"
	pc := &c // a nullable column: *string, its target a ***string
	*slots[0].target().(**int64), *slots[1].target().(**int16), *slots[2].target().(***string) = &a, &b, &pc
	var got row
	for _, s := range slots {
		require.False(t, s.null())
		s.store(unsafe.Pointer(&got))
	}
	require.Equal(t, row{A: 7, B: 3, C: &c}, got)
	*slots[0].target().(**int64), *slots[1].target().(**int16), *slots[2].target().(***string) = nil, nil, nil
	for _, s := range slots {
		require.True(t, s.null())
		s.store(unsafe.Pointer(&got))
	}
	require.Equal(t, row{}, got)
}
