package repo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

func TestInTx(t *testing.T) {
	t.Parallel()

	t.Run("Commits", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		err := e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
			u, err := tx.CreateUser(e.ctx, repo.NewUser{Name: "Frank", Age: 40})
			if err != nil {
				return err
			}
			_, err = tx.AddAddress(e.ctx, u.ID, "frank@example.com")
			return err
		})
		require.NoError(t, err)
		require.Equal(t, 1, e.rows(t, "users"))
		require.Equal(t, 1, e.rows(t, "addresses"))
	})

	t.Run("ErrorRollsBack", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		boom := errors.New("boom")
		err := e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
			_, err := tx.RegisterUser(e.ctx, repo.NewUser{Name: "Grace", Age: 45}, "grace@example.com")
			require.NoError(t, err)
			return boom
		})
		require.ErrorIs(t, err, boom)
		require.Equal(t, 0, e.rows(t, "users"))
		require.Equal(t, 0, e.rows(t, "addresses"))
	})

	t.Run("PanicRollsBackAndReleases", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		require.PanicsWithValue(t, "kaboom", func() {
			_ = e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				_, err := tx.CreateUser(e.ctx, repo.NewUser{Name: "Panic", Age: 1})
				require.NoError(t, err)
				panic("kaboom")
			})
		})
		require.Equal(t, 0, e.rows(t, "users"))
		require.Zero(t, e.pool.Stat().AcquiredConns(), "the connection went back to the pool")
	})

	t.Run("NestedFailureRollsBackOnlyItsSavepoint", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.mustRegister(t, "Hannah", 29, "hannah@example.com")
		err := e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
			if _, err := tx.RegisterUser(e.ctx, repo.NewUser{Name: "Ivy", Age: 20}, "ivy@example.com"); err != nil {
				return err
			}
			// A registration that conflicts fails alone: it runs in a savepoint.
			_, err := tx.RegisterUser(e.ctx, repo.NewUser{Name: "Copy", Age: 20}, "Hannah@example.com")
			require.ErrorIs(t, err, repo.ErrConflict)
			inner := tx.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				_, err := tx.CreateUser(e.ctx, repo.NewUser{Name: "Undone", Age: 20})
				require.NoError(t, err)
				return errors.New("changed my mind")
			})
			require.ErrorContains(t, inner, "changed my mind")
			_, err = tx.CreateUser(e.ctx, repo.NewUser{Name: "Jack", Age: 21})
			return err
		})
		require.NoError(t, err)
		var names []string
		rows, err := e.ListUsers(e.ctx, repo.UserQuery{OrderBy: repo.ByName})
		require.NoError(t, err)
		for _, u := range rows.Items {
			names = append(names, u.Name)
		}
		require.Equal(t, []string{"Hannah", "Ivy", "Jack"}, names)
	})

	t.Run("ErrTxDoneAfterCommit", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		var kept *repo.Repo
		require.NoError(t, e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
			kept = tx
			return nil
		}))
		_, err := kept.CreateUser(e.ctx, repo.NewUser{Name: "Late", Age: 1})
		require.ErrorIs(t, err, repo.ErrTxDone)
		require.ErrorContains(t, err, "transaction already committed or rolled back")
		_, err = kept.GetUser(e.ctx, 1)
		require.ErrorIs(t, err, repo.ErrTxDone)
		err = kept.InTx(e.ctx, repo.TxOptions{}, func(*repo.Repo) error { return nil })
		require.ErrorIs(t, err, repo.ErrTxDone)
		require.Equal(t, 0, e.rows(t, "users"))
	})

	t.Run("ErrTxAbortedWhenAnErrorIsSwallowed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		err := e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
			_, err := tx.CreateUser(e.ctx, repo.NewUser{Name: "Kept?", Age: 1})
			require.NoError(t, err)
			_, err = tx.CreatePost(e.ctx, repo.NewPost{UserID: 987654, Title: "Orphan"})
			require.ErrorIs(t, err, repo.ErrNotFound)
			return nil // the caller ignores the failure and asks to commit
		})
		require.ErrorIs(t, err, repo.ErrTxAborted)
		require.Equal(t, 0, e.rows(t, "users"), "COMMIT of an aborted transaction is a rollback")
	})

	t.Run("ReadOnly", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		err := e.InTx(e.ctx, repo.TxOptions{ReadOnly: true, Isolation: repo.RepeatableRead}, func(tx *repo.Repo) error {
			if _, err := tx.ListUsers(e.ctx, repo.UserQuery{}); err != nil {
				return err
			}
			_, err := tx.CreateUser(e.ctx, repo.NewUser{Name: "Nope", Age: 1})
			return err
		})
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr)
		require.Equal(t, pgerrcode.ReadOnlySQLTransaction, pgErr.Code)
		require.Equal(t, 0, e.rows(t, "users"))
	})
}

func TestInTxRetries(t *testing.T) {
	t.Parallel()

	t.Run("RetriesSerializationFailures", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		attempts := 0
		err := e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
			attempts++
			if _, err := tx.CreateUser(e.ctx, repo.NewUser{Name: fmt.Sprint("try ", attempts), Age: 1}); err != nil {
				return err
			}
			if attempts < 3 {
				return fmt.Errorf("simulated: %w", repo.ErrSerialization)
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, 3, attempts)
		u, err := e.FindUserByName(e.ctx, "try 3", repo.Joined)
		require.NoError(t, err)
		require.Equal(t, 1, e.rows(t, "users"), "failed attempts left nothing: %v", u.Name)
	})

	t.Run("GivesUpAtTheBound", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		for _, bound := range []int{1, 3} {
			attempts := 0
			err := e.InTx(e.ctx, repo.TxOptions{MaxAttempts: bound}, func(tx *repo.Repo) error {
				attempts++
				return repo.ErrSerialization
			})
			require.ErrorIs(t, err, repo.ErrSerialization)
			require.ErrorContains(t, err, fmt.Sprintf("gave up after %d attempts", bound))
			require.Equal(t, bound, attempts)
		}
	})

	t.Run("OtherErrorsAreNotRetried", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		attempts := 0
		err := e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
			attempts++
			_, err := tx.CreateUser(e.ctx, repo.NewUser{Name: "", Age: 1})
			return err
		})
		require.ErrorIs(t, err, repo.ErrInvalid)
		require.Equal(t, 1, attempts)
	})

	t.Run("StopsWhenContextEnds", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ctx, cancel := context.WithCancel(e.ctx)
		err := e.InTx(ctx, repo.TxOptions{MaxAttempts: 1000}, func(tx *repo.Repo) error {
			cancel()
			return repo.ErrSerialization
		})
		require.ErrorIs(t, err, context.Canceled)
	})

	// Real serialization failures: concurrent read-modify-write increments at
	// SERIALIZABLE. Every acknowledged increment is in the final value.
	t.Run("ConcurrentSerializableIncrements", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		u, err := e.CreateUser(e.ctx, repo.NewUser{Name: "Counter", Age: 0})
		require.NoError(t, err)
		const workers, each = 4, 10
		var wg sync.WaitGroup
		var mu sync.Mutex
		acked, retried := 0, 0
		for range workers {
			wg.Go(func() {
				for range each {
					runs := 0
					err := e.InTx(e.ctx, repo.TxOptions{Isolation: repo.Serializable, MaxAttempts: 200}, func(tx *repo.Repo) error {
						runs++
						cur, err := tx.GetUser(e.ctx, u.ID)
						if err != nil {
							return err
						}
						time.Sleep(time.Millisecond) // widen the race
						_, err = tx.UpdateUser(e.ctx, u.ID, repo.UserPatch{Age: ptr(cur.Age + 1)})
						return err
					})
					mu.Lock()
					if err == nil {
						acked++
					}
					retried += runs - 1
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		got, err := e.GetUser(e.ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, workers*each, acked)
		require.EqualValues(t, acked, got.Age, "no lost update")
		require.Positive(t, retried, "the race produced serialization failures that were retried")
	})
}

func TestPool(t *testing.T) {
	t.Parallel()

	t.Run("ValuesOutliveThePool", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		u := e.mustRegister(t, "Hannah", 29, "hannah@example.com", "hannah@work.com")
		got, err := e.GetUserWithAddresses(e.ctx, u.ID, repo.SelectIn)
		require.NoError(t, err)
		e.pool.Close()
		// The tutorials' DetachedInstanceError cannot happen: values are plain data.
		require.Equal(t, "Hannah", got.Name)
		require.Equal(t, "hannah@work.com", got.Addresses[1].Email)

		_, err = e.GetUser(e.ctx, u.ID)
		require.ErrorIs(t, err, repo.ErrClosed)
		require.ErrorContains(t, err, "connection pool is closed")
	})

	t.Run("OpenPool", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		url := e.pool.Config().ConnString()
		pool, err := repo.OpenPool(e.ctx, url, repo.PoolConfig{MaxConns: 7, MinConns: 1})
		require.NoError(t, err)
		defer pool.Close()
		require.EqualValues(t, 7, pool.Config().MaxConns)
		_, err = repo.New(pool).CreateUser(e.ctx, repo.NewUser{Name: "Pooled", Age: 3})
		require.NoError(t, err)
	})

	const secret = "s3cr3t-pa55"
	bad := map[string]struct {
		url string
		cfg repo.PoolConfig
		is  error
	}{
		"ErrMalformedURL":       {"postgres://bob:" + secret + "@localhost:notaport/db", repo.PoolConfig{}, repo.ErrInvalid},
		"ErrPoolSize":           {"postgres://bob:" + secret + "@localhost/db", repo.PoolConfig{MaxConns: 2, MinConns: 3}, repo.ErrInvalid},
		"ErrMinAboveDefaultMax": {"postgres://bob:" + secret + "@localhost/db", repo.PoolConfig{MinConns: 500}, repo.ErrInvalid},
		"ErrMinAboveURLMax":     {"postgres://bob:" + secret + "@localhost/db?pool_max_conns=2", repo.PoolConfig{MinConns: 3}, repo.ErrInvalid},
		"ErrURLMinAboveMax":     {"postgres://bob:" + secret + "@localhost/db?pool_min_conns=3", repo.PoolConfig{MaxConns: 2}, repo.ErrInvalid},
		"ErrNegativeMax":        {"postgres://bob:" + secret + "@localhost/db", repo.PoolConfig{MaxConns: -1}, repo.ErrInvalid},
		"ErrUnreachable":        {"postgres://bob:" + secret + "@127.0.0.1:1/db?connect_timeout=2", repo.PoolConfig{}, repo.ErrUnavailable},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := repo.OpenPool(context.Background(), tc.url, tc.cfg)
			require.Error(t, err)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			requireNoFragment(t, err.Error(), secret)
		})
	}

	// Malformed connection strings: no fragment of the password shows, and
	// the error says which part is wrong when it can.
	malformed := map[string]struct {
		url       string
		passwords []string // as written, and as meant
		says      string
	}{
		"ErrPasswordWithAt":        {"postgres://bob:hunter2@s3cr3tpart@localhost:notaport/db", []string{"hunter2@s3cr3tpart"}, "port"},
		"ErrPasswordWithColons":    {"postgres://bob:pa55:w0rd:xyz@localhost:notaport/db", []string{"pa55:w0rd:xyz"}, "port"},
		"ErrPasswordWithSlash":     {"postgres://bob:s3cr/3tw0rd@localhost/db", []string{"s3cr/3tw0rd"}, "port"},
		"ErrPasswordWithSpaces":    {"postgres://bob:my s3cr3t phr4se@localhost:x/db", []string{"my s3cr3t phr4se"}, "URL"},
		"ErrPercentEscaped":        {"postgres://bob:s3cr%403t%20w0rd@localhost:notaport/db", []string{"s3cr%403t%20w0rd", "s3cr@3t w0rd"}, "port"},
		"ErrBadPercentEscape":      {"postgres://bob:s3cr%zz3tw0rd@localhost/db", []string{"s3cr%zz3tw0rd"}, "percent"},
		"ErrKeyValueEscapedSpace":  {`host=localhost port=notaport password=s3cr3t\ phr4se`, []string{`s3cr3t\ phr4se`, "s3cr3t phr4se"}, "port"},
		"ErrKeyValueUnquotedSpace": {"host=localhost password=my s3cr3t phr4se dbname=db", []string{"my s3cr3t phr4se"}, "keyword/value"},
		"ErrKeyValueUnterminated":  {"host=localhost password='s3cr3t phr4se dbname=db", []string{"s3cr3t phr4se dbname=db"}, "unterminated"},
		"ErrKeyValueQuoted":        {"host=localhost port=notaport password='s3cr3t phr4se'", []string{"s3cr3t phr4se"}, "port"},
	}
	for name, tc := range malformed {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := repo.OpenPool(context.Background(), tc.url, repo.PoolConfig{})
			require.ErrorIs(t, err, repo.ErrInvalid)
			require.ErrorContains(t, err, tc.says)
			require.Equal(t, err.Error(), repo.CheckURL(tc.url).Error(), "CheckURL says the same")
			for _, pw := range tc.passwords {
				requireNoFragment(t, err.Error(), pw)
			}
		})
	}
}

// requireNoFragment fails if msg contains any four or more consecutive
// characters of secret.
func requireNoFragment(t *testing.T, msg, secret string) {
	t.Helper()
	r := []rune(secret)
	for i := range r {
		for j := i + 4; j <= len(r); j++ {
			require.NotContains(t, msg, string(r[i:j]), "a fragment of the password shows")
		}
	}
}

// TestWriteSkew: a rule across rows ("a user keeps at least one address")
// checked by two concurrent transactions that each delete a different
// address. At SERIALIZABLE one of them fails, is retried, sees the other's
// delete, and refuses: the rule holds.
func TestWriteSkew(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	errLastAddress := errors.New("cannot remove a user's last address")
	const users = 5
	for i := range users {
		u := e.mustRegister(t, fmt.Sprint("Skew ", i), 30, fmt.Sprintf("a%d@example.com", i), fmt.Sprintf("b%d@example.com", i))
		var wg sync.WaitGroup
		read := make(chan struct{}, 2)
		results := make([]error, 2)
		for k := range 2 {
			wg.Go(func() {
				first := true
				results[k] = e.InTx(e.ctx, repo.TxOptions{Isolation: repo.Serializable}, func(tx *repo.Repo) error {
					got, err := tx.GetUserWithAddresses(e.ctx, u.ID, repo.Joined)
					if err != nil {
						return err
					}
					if first { // both read before either writes
						first = false
						read <- struct{}{}
						for len(read) < 2 {
							time.Sleep(time.Millisecond)
						}
					}
					if len(got.Addresses) < 2 {
						return errLastAddress
					}
					return tx.DeleteAddress(e.ctx, u.Addresses[k].ID)
				})
			})
		}
		wg.Wait()
		require.Len(t, slices.DeleteFunc(slices.Clone(results), func(err error) bool { return err != nil }), 1, "one delete wins")
		require.True(t, errors.Is(results[0], errLastAddress) || errors.Is(results[1], errLastAddress), "the other refuses: %v", results)
		got, err := e.GetUserWithAddresses(e.ctx, u.ID, repo.Joined)
		require.NoError(t, err)
		require.Len(t, got.Addresses, 1, "the rule holds")
	}
}
