package repo_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestPaging walks every list declared with pages (methods_test.go,
// declare), with each strategy if it takes one, after its fill (which must
// add three items, some of them tied on the order's keys where it can):
// read a page at a time, one or two items each, the list is the list read
// whole, in its order, with no item twice or missing (ties broken as the
// cursor breaks them), every page but the last full and the last's Next
// empty; and a page's cursor read twice reads the same page.
func TestPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fixture := at{r: e.Repo, pool: e.pool}.withFixture(t, e.Repo)
	walked := 0
	for m := range inOrder(func(a, b method) int { return strings.Compare(a.name, b.name) }) {
		if m.pages == nil {
			continue
		}
		walked++
		t.Run(m.name, func(t *testing.T) {
			f := fixture
			f.t, f.ctx = t, bg
			name := m.name
			read := func(limit int, after string) (items []any, next string) {
				t.Helper()
				page, err := m.pages(f, limit, after)
				require.NoError(t, err, "%s: a page of %d after %q", name, limit, after)
				return pageOf(t, page)
			}
			whole := func() []any {
				items, next := read(repo.MaxPageSize, "")
				require.Empty(t, next, "%s: the list fits a page of %d", name, repo.MaxPageSize)
				return items
			}
			// The walks see the earlier lists' fills too (one database):
			// this one's must add three items of its own.
			before := len(whole())
			m.fill(f)
			require.GreaterOrEqual(t, len(whole()), before+3, "%s: its fill adds at least three items to what pages lists", name)
			for _, st := range m.strategies() {
				f.s, name = st.s, strings.TrimSpace(m.name+" "+st.name)
				all := whole()
				for _, limit := range []int{1, 2} {
					var walk []any
					for after := ""; ; {
						items, next := read(limit, after)
						require.NotEmpty(t, items, "%s: page %d of %d is empty", name, len(walk)/limit+1, limit)
						walk = append(walk, items...)
						if next == "" {
							break
						}
						require.Len(t, items, limit, "%s: a page before the last is full", name)
						again, againNext := read(limit, after)
						require.Equal(t, items, again, "%s: a cursor read twice reads the same page", name)
						require.Equal(t, next, againNext)
						require.Less(t, len(walk), len(all), "%s: pages of %d go on past the whole list", name, limit)
						after = next
					}
					require.Equal(t, all, walk, "%s: pages of %d, one after another, are the list read whole", name, limit)
				}
			}
		})
	}
	require.NotZero(t, walked, "lists are declared with pages")
}

// pageOf is a Page[T]'s items and Next.
func pageOf(t *testing.T, page any) (items []any, next string) {
	t.Helper()
	v := reflect.ValueOf(page)
	require.Equal(t, reflect.Struct, v.Kind(), "pages returns a Page, not %T", page)
	list := v.FieldByName("Items")
	for i := range list.Len() {
		items = append(items, list.Index(i).Interface())
	}
	return items, v.FieldByName("Next").String()
}
