package repo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
	"github.com/inkwell-dev/inkwell/internal/trips"
)

// TestRoundTrips counts, on the wire, the round trips of every sample call
// methods (methods_test.go, declare) declares, and fails when one takes more than its
// trips (on Citus, its citus where it differs). The rows a call needs first
// are made on another pool, not counted. Each call is made once to warm the
// connection's statement cache (a first statement on a connection is
// described first: one more round trip), then counted. With
// pgtest.PgBouncerEnv set it counts through PgBouncer.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	prepPool := pgtest.NewPool(t)
	wire := &trips.Counter{}
	cfg := prepPool.Config().Copy()
	cfg.ConnConfig.DialFunc = wire.Dial
	cfg.MaxConns = 1
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false } // no liveness round trips
	counted, err := pgxpool.NewWithConfig(bg, cfg)
	require.NoError(t, err)
	t.Cleanup(counted.Close)
	p, r := repo.New(prepPool), repo.New(counted)

	e := at{r: r, pool: counted}.withFixture(t, p)
	for m := range inOrder(func(a, b method) int { return strings.Compare(a.name, b.name) }) {
		for _, rn := range m.runs() {
			t.Run(m.name+"/"+rn.name, func(t *testing.T) {
				call := func() {
					e := e
					e.t, e.ctx, e.s = t, bg, rn.s
					err := rn.call(e)
					if rn.want == nil {
						require.NoError(t, err)
					} else {
						require.ErrorIs(t, err, rn.want)
					}
				}
				call() // warm
				before := wire.Trips()
				call()
				got, most := wire.Trips()-before, rn.trips
				if pgtest.Citus() && rn.citus > 0 {
					most = rn.citus
				}
				require.LessOrEqual(t, got, most, "%s (%s): %d round trips on the wire, at most %d expected", m.name, rn.name, got, most)
				t.Logf("%s (%s): %d round trips", m.name, rn.name, got)
			})
		}
	}
}
