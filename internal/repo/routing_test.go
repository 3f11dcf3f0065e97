package repo_test

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// route is where a method of *Repo must send its statements.
type route int

const (
	// read: a replica fresh enough for the context (read-your-writes), else
	// the primary.
	read route = iota + 1
	// write: the primary; the context is marked, so that its later reads see
	// the write.
	write
	// transaction: the primary (reads included); the context is marked.
	transaction
	// local: no statement at all.
	local
)

func (r route) String() string {
	return [...]string{"", "read", "write", "transaction", "local"}[r]
}

// testEveryMethodIsRouted walks the exported methods of *Repo and checks
// that each goes where its route says: a read lands on a fresh replica, and
// on the primary once its context has written something the replica has
// not replayed; a write or transaction goes to the primary and marks its
// context; a local method, or a sample of no round trips, sends no
// statement. It runs every sample methods declares (methods_test.go, declare), and a
// method missing there fails TestEveryMethodDeclared, so a new method cannot
// skip reading, writing or inTx unnoticed.
func testEveryMethodIsRouted(t *testing.T, primaryPool, replicaPool *pgxpool.Pool, onPrimary, onReplica *sqlcCounter) {
	ctx := context.Background()
	// MaxLag long enough that a paused replica still serves callers that
	// wrote nothing.
	r := repo.New(primaryPool, repo.WithReplicas(repo.ReplicaOptions{MaxLag: time.Minute, CheckEvery: 100 * time.Millisecond}, replicaPool))
	defer r.Close()

	e := at{r: r, pool: primaryPool, replicas: []*pgxpool.Pool{replicaPool}}.withFixture(t, repo.New(primaryPool))
	eventually(t, "the replica has the fixture", func() bool {
		_, err := repo.New(replicaPool).GetPost(ctx, e.post.ID, repo.SelectIn)
		return err == nil
	})
	eventually(t, "the replica is checked fresh", func() bool {
		s := r.ReplicaStatuses()[0]
		return s.Up && s.Lag < time.Second
	})
	// From here on the replica replays nothing: whatever a context writes,
	// only the primary has.
	pauseReplay(t, primaryPool, replicaPool)

	// A check that times out on a busy machine takes the replica out of
	// rotation until the next one: a call expected on the replica is
	// repeated until it lands there, and a call expected on the primary is
	// made while the replica is up, so that it proves the routing.
	onTheReplica := func(t *testing.T, msg string, fn func()) {
		t.Helper()
		eventually(t, msg, func() bool { return where(t, onPrimary, onReplica, fn) == "replica" })
	}
	onThePrimary := func(t *testing.T, msg string, fn func()) {
		t.Helper()
		eventually(t, "the replica is up", func() bool { return r.ReplicaStatuses()[0].Up })
		require.Equal(t, "primary", where(t, onPrimary, onReplica, fn), msg)
	}
	// probe reads with ctx: on the primary once ctx has written.
	probe := func(ctx context.Context) func() {
		return func() {
			_, err := r.ListUsers(ctx, repo.UserQuery{Limit: 1})
			require.NoError(t, err)
		}
	}
	wroteSession := repo.WithReadYourWrites(ctx)
	_, err := r.CreateUser(wroteSession, repo.NewUser{Name: "Writer"})
	require.NoError(t, err)

	// Reads first, on the fixture; the writes prepare their own rows or
	// write the fixture's, which no read needs after them.
	for m := range inOrder(func(a, b method) int { return cmp.Or(cmp.Compare(a.route, b.route), strings.Compare(a.name, b.name)) }) {
		for _, rn := range m.runs() {
			t.Run(m.name+"/"+rn.name, func(t *testing.T) {
				call := func(ctx context.Context) {
					e := e
					e.t, e.ctx, e.s = t, ctx, rn.s
					err := rn.call(e)
					if rn.want == nil {
						require.NoError(t, err, "%s (%s)", m.name, m.route)
					} else {
						require.ErrorIs(t, err, rn.want, "%s (%s)", m.name, m.route)
					}
				}
				switch {
				case m.route == read && rn.trips > 0:
					onTheReplica(t, "a read goes to a fresh replica", func() { call(ctx) })
					onThePrimary(t, "a read with a context that wrote goes where the write is", func() { call(wroteSession) })
				case (m.route == write || m.route == transaction) && rn.trips > 0:
					session := repo.WithReadYourWrites(ctx)
					onTheReplica(t, "nothing written with the session yet", probe(session))
					require.Equal(t, "primary", where(t, onPrimary, onReplica, func() { call(session) }),
						"a %s goes to the primary", m.route)
					onThePrimary(t, fmt.Sprintf("the %s marked its context for read-your-writes", m.route), probe(session))
				case m.route == local || rn.trips == 0: // a sample of no round trip, a bad call
					p, rep := onPrimary.n.Load(), onReplica.n.Load()
					call(ctx)
					require.Equal(t, [2]int64{p, rep}, [2]int64{onPrimary.n.Load(), onReplica.n.Load()}, "no statement")
				default:
					t.Fatalf("unknown route %d", m.route)
				}
			})
		}
	}
}
