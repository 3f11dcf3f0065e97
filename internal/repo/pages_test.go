package repo_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEmptyPages: an empty page has the same shape from every list method
// and strategy, Items an empty slice (JSON []), never nil (null). The list
// methods are those methods (methods_test.go, declare) declares with an empty call;
// TestEveryMethodDeclared sees that every method returning a Page has one.
func TestEmptyPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	check := func(t *testing.T) {
		calls := 0
		for _, m := range methods {
			if m.empty == nil {
				continue
			}
			for _, st := range m.strategies() {
				calls++
				t.Run(strings.TrimSuffix(m.name+"/"+st.name, "/"), func(t *testing.T) {
					page, err := m.empty(at{t: t, ctx: e.ctx, r: e.Repo, s: st.s})
					require.NoError(t, err)
					b, err := json.Marshal(page)
					require.NoError(t, err)
					require.JSONEq(t, `{"Items": [], "Next": ""}`, string(b))
				})
			}
		}
		require.NotZero(t, calls, "methods declares lists")
	}
	t.Run("EmptyDatabase", check)
	alice := e.mustRegister(t, "Alice", 30, "alice@example.com")
	e.mustPost(t, alice.ID, "Hello", "go")
	t.Run("NoMatch", check)
}
