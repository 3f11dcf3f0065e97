package repo_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestEmptyPages: an empty page has the same shape from every list method
// and strategy, Items an empty slice (JSON []), never nil (null). The list
// methods are found by reflection (those returning a Page), so a new one
// must be added to lists below.
func TestEmptyPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nobody := ptr[int64](1 << 40)
	tooOld := ptr[int32](150)
	lists := map[string]func(s repo.Strategy) (any, error){
		"ListUsers": func(repo.Strategy) (any, error) { return e.ListUsers(e.ctx, repo.UserQuery{MinAge: tooOld}) },
		"ListUsersWithAddresses": func(s repo.Strategy) (any, error) {
			return e.ListUsersWithAddresses(e.ctx, repo.UserQuery{MinAge: tooOld, OrderBy: repo.ByName}, s)
		},
		"ListUsersWithPosts": func(s repo.Strategy) (any, error) {
			return e.ListUsersWithPosts(e.ctx, repo.UserQuery{MinAge: tooOld, OrderBy: repo.ByAge, Desc: true}, s)
		},
		"ListPosts": func(s repo.Strategy) (any, error) { return e.ListPosts(e.ctx, repo.PostQuery{UserID: nobody}, s) },
	}

	type call struct {
		name string
		list func() (any, error)
	}
	var calls []call
	strategy := reflect.TypeFor[repo.Strategy]()
	for m := range reflect.TypeFor[*repo.Repo]().Methods() {
		if m.Type.NumOut() == 0 || !strings.HasPrefix(m.Type.Out(0).Name(), "Page[") {
			continue
		}
		list, ok := lists[m.Name]
		require.True(t, ok, "(*Repo).%s returns a page: add it to TestEmptyPages", m.Name)
		if m.Type.In(m.Type.NumIn()-1) != strategy {
			calls = append(calls, call{m.Name, func() (any, error) { return list(repo.Joined) }})
			continue
		}
		for s, name := range map[repo.Strategy]string{repo.Joined: "Joined", repo.SelectIn: "SelectIn"} {
			calls = append(calls, call{m.Name + "/" + name, func() (any, error) { return list(s) }})
		}
	}
	require.Len(t, calls, 7, "ListUsers, and three methods with two strategies")

	check := func(t *testing.T) {
		for _, c := range calls {
			t.Run(c.name, func(t *testing.T) {
				page, err := c.list()
				require.NoError(t, err)
				b, err := json.Marshal(page)
				require.NoError(t, err)
				require.JSONEq(t, `{"Items": [], "Next": ""}`, string(b))
			})
		}
	}
	t.Run("EmptyDatabase", check)
	alice := e.mustRegister(t, "Alice", 30, "alice@example.com")
	e.mustPost(t, alice.ID, "Hello", "go")
	t.Run("NoMatch", check)
}
