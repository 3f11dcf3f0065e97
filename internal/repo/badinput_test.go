package repo_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestBadInput runs every bad call methods (methods_test.go, declare) declares, on
// the fixture's rows: each ends with ErrInvalid, as a *FieldError naming the
// input, and leaves every table and sequence of the catalog as it was.
// (That it sends nothing, TestRoundTrips and TestReplicas check.)
func TestBadInput(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	e := at{r: repo.New(pool), pool: pool}.withFixture(t, repo.New(pool))
	calls := 0
	for _, m := range methods {
		for _, rn := range m.badRuns() {
			calls++
			t.Run(m.name+"/"+rn.name, func(t *testing.T) {
				before := snapshot(t, pool)
				e := e
				e.t, e.ctx, e.s = t, bg, rn.s
				err := rn.call(e)
				require.ErrorIs(t, err, repo.ErrInvalid, "%s (%s)", m.name, rn.name)
				var fe *repo.FieldError
				require.ErrorAs(t, err, &fe, "%s (%s): ErrInvalid as a *FieldError, naming the field", m.name, rn.name)
				require.Equal(t, before, snapshot(t, pool), "%s (%s): nothing written", m.name, rn.name)
			})
		}
	}
	require.NotZero(t, calls, "methods declares bad calls")
}
