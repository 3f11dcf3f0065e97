package repo_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// within fails the test, rather than hang it, when done is not closed in
// time. The bound is generous: it only turns a hang into a failure.
func within(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not return", what)
	}
}

// userNames lists the users' names in name order.
func (e env) userNames(t *testing.T) []string {
	t.Helper()
	page, err := e.ListUsers(e.ctx, repo.UserQuery{OrderBy: repo.ByName})
	require.NoError(t, err)
	names := []string{}
	for _, u := range page.Items {
		names = append(names, u.Name)
	}
	return names
}

// TestNestedInTxFailures: however a nested InTx fails, only its savepoint is
// rolled back and the outer transaction goes on and commits.
func TestNestedInTxFailures(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	errGoexit := errors.New("nested fn called runtime.Goexit")
	// Each case runs a nested InTx on outer that creates the user "Undone"
	// and then fails its way, and returns what the nested InTx returned.
	cases := map[string]struct {
		nested func(ctx context.Context, t *testing.T, outer *repo.Repo) error
		is     error
	}{
		"Error": {func(ctx context.Context, t *testing.T, outer *repo.Repo) error {
			return outer.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				_, err := tx.CreateUser(ctx, repo.NewUser{Name: "Undone", Age: 1})
				require.NoError(t, err)
				return boom
			})
		}, boom},
		"SwallowedFailure": {func(ctx context.Context, t *testing.T, outer *repo.Repo) error {
			return outer.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				_, err := tx.CreateUser(ctx, repo.NewUser{Name: "Undone", Age: 1})
				require.NoError(t, err)
				_, err = tx.CreatePost(ctx, repo.NewPost{UserID: 987654, Title: "Orphan"})
				require.ErrorIs(t, err, repo.ErrNotFound)
				return nil // swallowed
			})
		}, repo.ErrTxAborted},
		"Panic": {func(ctx context.Context, t *testing.T, outer *repo.Repo) (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("%v: %w", p, boom)
				}
			}()
			return outer.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				_, err := tx.CreateUser(ctx, repo.NewUser{Name: "Undone", Age: 1})
				require.NoError(t, err)
				panic("kaboom")
			})
		}, boom},
		"Goexit": {func(ctx context.Context, t *testing.T, outer *repo.Repo) error {
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = outer.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
					_, err := tx.CreateUser(ctx, repo.NewUser{Name: "Undone", Age: 1})
					if err == nil {
						runtime.Goexit()
					}
					return err
				})
			}()
			within(t, done, "the nested InTx")
			return errGoexit
		}, errGoexit},
		"ContextEndsBeforeRelease": {func(ctx context.Context, t *testing.T, outer *repo.Repo) error {
			short, cancel := context.WithCancel(ctx)
			defer cancel()
			return outer.InTx(short, repo.TxOptions{}, func(tx *repo.Repo) error {
				_, err := tx.CreateUser(short, repo.NewUser{Name: "Undone", Age: 1})
				require.NoError(t, err)
				cancel()
				return nil
			})
		}, context.Canceled},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			err := e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				if _, err := tx.CreateUser(e.ctx, repo.NewUser{Name: "Before", Age: 1}); err != nil {
					return err
				}
				require.ErrorIs(t, tc.nested(e.ctx, t, tx), tc.is)
				// The outer transaction is still usable.
				if _, err := tx.CreateUser(e.ctx, repo.NewUser{Name: "After", Age: 1}); err != nil {
					return err
				}
				// Nesting again at the same depth works too.
				return tx.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
					_, err := tx.CreateUser(e.ctx, repo.NewUser{Name: "Nested", Age: 1})
					return err
				})
			})
			require.NoError(t, err)
			require.Equal(t, []string{"After", "Before", "Nested"}, e.userNames(t))
			require.Zero(t, e.pool.Stat().AcquiredConns())
		})
	}
}

// TestInTxGoexit: runtime.Goexit in fn (t.FailNow, require in a test) rolls
// the transaction back and frees its connection and row locks.
func TestInTxGoexit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pool, err := repo.OpenPool(e.ctx, e.pool.Config().ConnString(), repo.PoolConfig{MaxConns: 2})
	require.NoError(t, err)
	r := repo.New(pool)
	u, err := r.CreateUser(e.ctx, repo.NewUser{Name: "Locked", Age: 30})
	require.NoError(t, err)

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
			if _, err := tx.UpdateUser(e.ctx, u.ID, repo.UserPatch{Age: ptr[int32](99)}); err != nil {
				return err // the test then fails below: the age is 30
			}
			runtime.Goexit() // holding the row's lock
			return nil
		})
	}()
	within(t, done, "InTx")

	got, err := r.GetUser(e.ctx, u.ID)
	require.NoError(t, err)
	require.EqualValues(t, 30, got.Age, "the update was rolled back")
	require.Zero(t, pool.Stat().AcquiredConns(), "the connection went back to the pool")
	// The row is not locked: a write to it goes through before its deadline.
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	_, err = r.UpdateUser(ctx, u.ID, repo.UserPatch{Age: ptr[int32](31)})
	require.NoError(t, err)

	closed := make(chan struct{})
	go func() {
		defer close(closed)
		pool.Close()
	}()
	within(t, closed, "pool.Close")
}

// TestTxOptions: options are checked before anything is sent, and the
// server's refusals match sentinels.
func TestTxOptions(t *testing.T) {
	t.Parallel()

	for name, iso := range map[string]pgx.TxIsoLevel{
		"ErrUnknownLevel":    "snapshot",
		"ErrReadUncommitted": pgx.ReadUncommitted,
		"ErrInjection":       "serializable; DROP TABLE users; --",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ran := false
			sent := e.counter.queries(t, func() {
				err := e.InTx(e.ctx, repo.TxOptions{Isolation: iso}, func(tx *repo.Repo) error {
					ran = true
					return nil
				})
				require.ErrorIs(t, err, repo.ErrInvalid)
				require.ErrorContains(t, err, "isolation level")
			})
			require.False(t, ran)
			require.Zero(t, sent, "nothing was sent")
			require.Equal(t, 0, e.rows(t, "users"), "the table is still there")
			// Nested, the options are checked too.
			err := e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				return tx.InTx(e.ctx, repo.TxOptions{Isolation: iso}, func(*repo.Repo) error { return nil })
			})
			require.ErrorIs(t, err, repo.ErrInvalid)
		})
	}

	t.Run("EveryLevel", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		for _, iso := range []pgx.TxIsoLevel{"", repo.ReadCommitted, repo.RepeatableRead, repo.Serializable} {
			err := e.InTx(e.ctx, repo.TxOptions{Isolation: iso}, func(tx *repo.Repo) error {
				_, err := tx.CreateUser(e.ctx, repo.NewUser{Name: fmt.Sprintf("level %q", iso), Age: 1})
				return err
			})
			require.NoError(t, err, "isolation %q", iso)
		}
		require.Equal(t, 4, e.rows(t, "users"))
	})

	t.Run("ErrReadOnly", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		err := e.InTx(e.ctx, repo.TxOptions{ReadOnly: true}, func(tx *repo.Repo) error {
			_, err := tx.RegisterUser(e.ctx, repo.NewUser{Name: "Nope", Age: 1}, "nope@example.com")
			return err
		})
		require.ErrorIs(t, err, repo.ErrReadOnly)
		require.Equal(t, 0, e.rows(t, "users"))
	})
}

// TestOuterRepoInsideInTx: a call on the outer Repo inside fn needs a
// connection of its own; with none free it waits until its context ends
// (documented on InTx), and the transaction is unharmed.
func TestOuterRepoInsideInTx(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pool, err := repo.OpenPool(e.ctx, e.pool.Config().ConnString(), repo.PoolConfig{MaxConns: 1})
	require.NoError(t, err)
	defer pool.Close()
	r := repo.New(pool)
	err = r.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
		u, err := tx.CreateUser(e.ctx, repo.NewUser{Name: "Inside", Age: 1})
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(e.ctx, 200*time.Millisecond)
		defer cancel()
		_, err = r.GetUser(ctx, u.ID) // the outer Repo: wrong, and it waits
		require.ErrorIs(t, err, context.DeadlineExceeded)
		_, err = tx.GetUser(e.ctx, u.ID) // the tx Repo: right
		return err
	})
	require.NoError(t, err)
	require.Equal(t, 1, e.rows(t, "users"))
}
