package repo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// commitDone is the server's CommandComplete for a COMMIT: the transaction
// is committed once the server sends it.
var commitDone = []byte("C\x00\x00\x00\x0bCOMMIT\x00")

// lateCommit makes a COMMIT's answer come too late for a context: when the
// server's answer to a COMMIT arrives (committed), it cancels the armed
// context and holds the answer back until a read deadline is set on the
// connection (what pgx's default handler does when a context ends, at
// once), or until hold passes. With a deadline, the answer is lost, as
// when it arrives a moment after the deadline; without, it is delivered.
type lateCommit struct {
	cancel atomic.Pointer[context.CancelFunc] // armed: cancel at the next COMMIT's answer
	hold   time.Duration
}

// arm returns a context that the next COMMIT's answer cancels.
func (l *lateCommit) arm() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel.Store(&cancel)
	return ctx, cancel
}

func (l *lateCommit) configure(c *pgxpool.Config) {
	dial := c.ConnConfig.DialFunc
	c.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &lateConn{Conn: conn, late: l}, nil
	}
}

type lateConn struct {
	net.Conn
	late     *lateCommit
	mu       sync.Mutex
	deadline time.Time
}

func (c *lateConn) SetDeadline(t time.Time) error {
	c.setDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *lateConn) SetReadDeadline(t time.Time) error {
	c.setDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *lateConn) setDeadline(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
}

func (c *lateConn) expired() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.deadline.IsZero() && !c.deadline.After(time.Now())
}

func (c *lateConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n == 0 || !bytes.Contains(p[:n], commitDone) {
		return n, err
	}
	cancel := c.late.cancel.Swap(nil)
	if cancel == nil {
		return n, err
	}
	(*cancel)()
	for end := time.Now().Add(c.late.hold); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if c.expired() {
			return 0, &net.OpError{Op: "read", Net: "tcp", Err: errTimeout{}}
		}
	}
	return n, err
}

// errTimeout is the error a read past its deadline fails with.
type errTimeout struct{}

func (errTimeout) Error() string { return "i/o timeout" }
func (errTimeout) Timeout() bool { return true }

// commitCases are calls that commit, each on a fresh database: write runs
// the call, written says whether its rows are there.
var commitCases = map[string]struct {
	prepare func(t *testing.T, e env) // before the call, not armed
	write   func(ctx context.Context, e env) error
	written func(t *testing.T, e env) bool
}{
	"InTx": {
		write: func(ctx context.Context, e env) error {
			return e.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				_, err := tx.CreateUser(ctx, repo.NewUser{Name: "Committed", Age: 30})
				return err
			})
		},
		written: func(t *testing.T, e env) bool { return e.rows(t, "users") == 1 },
	},
	"InitialLoadGraphs": {
		write: func(ctx context.Context, e env) error {
			_, err := e.InitialLoadGraphs(ctx, fakeGraphs(11, 20), repo.InitialLoadOptions{})
			return err
		},
		written: func(t *testing.T, e env) bool { return e.rows(t, "users") == 20 },
	},
	"DeleteUser": { // a pipeline with BEGIN and COMMIT of its own
		prepare: func(t *testing.T, e env) { e.mustRegister(t, "Deleted", 30, "deleted@example.com") },
		write: func(ctx context.Context, e env) error {
			var id int64
			if err := e.pool.QueryRow(context.Background(), "SELECT id FROM users").Scan(&id); err != nil {
				return err
			}
			return e.DeleteUser(ctx, id)
		},
		written: func(t *testing.T, e env) bool { return e.rows(t, "users") == 0 },
	},
}

// TestCommitAnswerLate: on a pool made with pgxpool directly (whose
// handler drops the connection the moment a context ends), a context that
// ends while the COMMIT is in flight does not lose its answer when the
// server gives it within the grace the repository allows: the call says it
// committed, and it did. When the answer is later than that (a hung server),
// the call returns, saying the outcome is unknown (ErrCommitUnknown, with
// the context's error), never that it failed.
func TestCommitAnswerLate(t *testing.T) {
	t.Parallel()
	for name, c := range commitCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, late := range []struct {
				name string
				hold time.Duration
			}{{"InTime", 200 * time.Millisecond}, {"Lost", 10 * time.Second}} {
				t.Run(late.name, func(t *testing.T) {
					t.Parallel()
					lc := &lateCommit{hold: late.hold}
					pool := pgtest.NewPool(t, lc.configure)
					e := env{Repo: repo.New(pool), pool: pool, ctx: context.Background()}
					if c.prepare != nil {
						c.prepare(t, e)
					}
					ctx, cancel := lc.arm()
					defer cancel()
					err := c.write(ctx, e)
					require.Nil(t, lc.cancel.Load(), "the COMMIT's answer came")
					require.True(t, c.written(t, e), "the server committed")
					if late.name == "InTime" {
						require.NoError(t, err)
						return
					}
					require.ErrorIs(t, err, repo.ErrCommitUnknown)
					require.ErrorIs(t, err, context.Canceled)
					require.NotErrorIs(t, err, repo.ErrUnavailable)
				})
			}
		})
	}
}

// TestCommitOutcomeTrue: whenever a context ends during a call that
// commits, on a pool made with pgxpool directly, what the call says is
// true: nil means committed; any error but ErrCommitUnknown means nothing
// was.
func TestCommitOutcomeTrue(t *testing.T) {
	t.Parallel()
	for name, c := range commitCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for i := range 10 {
				e := newEnv(t)
				if c.prepare != nil {
					c.prepare(t, e)
				}
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(time.Duration(rand.N(8000))*time.Microsecond, cancel)
				err := c.write(ctx, e)
				cancel()
				switch {
				case err == nil:
					require.True(t, c.written(t, e), "run %d: committed, as it said", i)
				case errors.Is(err, repo.ErrCommitUnknown):
				default:
					require.False(t, c.written(t, e), "run %d: %v, yet committed", i, err)
				}
			}
		})
	}
}

// TestCommitOutcomeTrueOneStatement: a write of one statement outside a
// transaction (RegisterUser) commits with its statement. On a pool made
// with pgxpool directly, a context that ends while its answer is read cuts
// the read off: the outcome is unknown, ErrCommitUnknown, never the
// context's error alone for a write that committed. A context done before
// the call sends nothing and says so.
func TestCommitOutcomeTrueOneStatement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.RegisterUser(done, repo.NewUser{Name: "Never", Age: 30}, "never@example.com")
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, repo.ErrCommitUnknown)

	for i := range 300 {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Duration(rand.N(3000))*time.Microsecond, cancel)
		email := fmt.Sprintf("one%d@example.com", i)
		_, err := e.RegisterUser(ctx, repo.NewUser{Name: "One", Age: 30}, email)
		cancel()
		var n int
		require.NoError(t, e.pool.QueryRow(context.Background(),
			"SELECT count(*) FROM addresses WHERE email = $1", email).Scan(&n))
		switch {
		case err == nil:
			require.Equal(t, 1, n, "run %d: committed, as it said", i)
		case errors.Is(err, repo.ErrCommitUnknown):
			require.ErrorIs(t, err, context.Canceled)
		default:
			require.Zero(t, n, "run %d: %v, yet committed", i, err)
		}
	}
}
