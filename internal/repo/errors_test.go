package repo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// exec runs DDL or a statement on the test's own database, as the test
// pool's role (a superuser).
func (e env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := e.pool.Exec(e.ctx, sql, args...)
	require.NoError(t, err)
}

// TestForeignKeyErrors: a delete that a non-cascading reference blocks is a
// conflict naming the referencing table; a reference to a missing row is
// not found. Every foreign key of the schema cascades, so the test adds a
// table whose keys do not: keyed by user as README says a new table must be
// (on Citus, distributed with the users' rows before its foreign keys come:
// a coordinator's local table referring to a distributed one would not have
// them checked where the rows are).
func TestForeignKeyErrors(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T) (env, repo.User, repo.Post) {
		e := newEnv(t)
		e.exec(t, `CREATE TABLE test_comments (
			id bigserial,
			user_id bigint NOT NULL,
			post_id bigint,
			PRIMARY KEY (user_id, id))`)
		if pgtest.Citus() {
			e.exec(t, "SELECT create_distributed_table('test_comments', 'user_id', colocate_with => 'users')")
		}
		e.exec(t, "ALTER TABLE test_comments ADD FOREIGN KEY (user_id) REFERENCES users (id)")
		e.exec(t, "ALTER TABLE test_comments ADD FOREIGN KEY (user_id, post_id) REFERENCES posts (user_id, id) ON DELETE RESTRICT")
		u := e.mustRegister(t, "Referenced", 30, "referenced@example.com")
		p := e.mustPost(t, u.ID, "Commented")
		e.exec(t, "INSERT INTO test_comments (user_id, post_id) VALUES ($1, $2)", u.ID, p.ID)
		return e, u, p
	}

	t.Run("ErrConflictOnDeleteUser", func(t *testing.T) {
		t.Parallel()
		e, u, _ := setup(t)
		err := e.DeleteUser(e.ctx, u.ID)
		require.ErrorIs(t, err, repo.ErrConflict)
		require.NotErrorIs(t, err, repo.ErrNotFound)
		require.ErrorContains(t, err, "still referenced from table test_comments")
		_, err = e.GetUser(e.ctx, u.ID)
		require.NoError(t, err, "nothing was deleted")
		require.Equal(t, 1, e.rows(t, "test_comments"))
	})

	t.Run("ErrConflictOnDeletePostInATransaction", func(t *testing.T) {
		t.Parallel()
		e, _, p := setup(t)
		err := e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
			return tx.DeletePost(e.ctx, p.ID)
		})
		require.ErrorIs(t, err, repo.ErrConflict)
		require.ErrorContains(t, err, "test_comments")
		require.Equal(t, 1, e.rows(t, "posts"))
	})

	t.Run("ErrNotFoundForAMissingReference", func(t *testing.T) {
		t.Parallel()
		e, _, _ := setup(t)
		_, err := e.CreatePost(e.ctx, repo.NewPost{UserID: 987654, Title: "Orphan"})
		require.ErrorIs(t, err, repo.ErrNotFound)
		require.NotErrorIs(t, err, repo.ErrConflict)
		require.Equal(t, 1, e.rows(t, "posts"))
	})
}

// TestServerTimeouts: the server's lock_timeout and statement_timeout, while
// our context is live, match ErrTimeout, and nothing is written.
func TestServerTimeouts(t *testing.T) {
	t.Parallel()
	for name, setting := range map[string]string{
		"LockTimeout":      "lock_timeout",
		"StatementTimeout": "statement_timeout",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.mustRegister(t, "Contended", 30)
			// The timeout is set where it reaches the second transaction
			// only: a lock holder that timed out itself would hold nothing.
			setTimeout := func() {
				if pgtest.Citus() {
					// Citus refuses triggers on distributed tables ("triggers are
					// not supported on distributed tables"): the timeout is the
					// database's (Citus passes it to the workers, where the row
					// lock is waited for), for sessions opened from here on, so
					// it is set once the holder's session has the lock.
					e.exec(t, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET `+setting+` = ''100ms''', current_database()); END $$`)
					e.pool.Reset() // the holder's connection, in use, is kept
					return
				}
				// No repo method sets a timeout: creating a user does, through a
				// trigger, for the rest of its transaction (transactions only,
				// so that it holds through PgBouncer too). The trigger comes
				// before the holder: CREATE TRIGGER would wait for its lock.
				e.exec(t, `CREATE FUNCTION test_set_timeout() RETURNS trigger LANGUAGE plpgsql AS $$
					BEGIN PERFORM set_config(TG_ARGV[0], '100ms', true); RETURN NULL; END $$`)
				e.exec(t, `CREATE TRIGGER test_set_timeout AFTER INSERT ON users
					FOR EACH STATEMENT EXECUTE FUNCTION test_set_timeout('`+setting+`')`)
			}
			if !pgtest.Citus() {
				setTimeout()
			}

			locked := make(chan error, 1)
			release, held := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(held)
				_ = e.InTx(e.ctx, repo.TxOptions{MaxAttempts: 1}, func(tx *repo.Repo) error {
					_, err := tx.UpdateUser(e.ctx, u.ID, repo.UserPatch{Age: ptr[int32](40)})
					locked <- err
					if err != nil {
						return err
					}
					<-release
					return errors.New("roll back")
				})
			}()
			select {
			case err := <-locked:
				require.NoError(t, err, "the lock holder's update")
			case <-time.After(30 * time.Second):
				t.Fatal("locking the row did not return")
			}
			if pgtest.Citus() {
				setTimeout()
			}

			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			err := e.InTx(ctx, repo.TxOptions{MaxAttempts: 1}, func(tx *repo.Repo) error {
				if _, err := tx.CreateUser(ctx, repo.NewUser{Name: "Setter", Age: 1}); err != nil {
					return err
				}
				_, err := tx.UpdateUser(ctx, u.ID, repo.UserPatch{Age: ptr[int32](50)})
				return err
			})
			close(release)
			within(t, held, "the lock holder")
			if pgtest.Citus() { // the checks below run without the timeout
				tx, err := e.pool.Begin(e.ctx)
				require.NoError(t, err)
				_, err = tx.Exec(e.ctx, "SET LOCAL "+setting+" = 0")
				require.NoError(t, err)
				_, err = tx.Exec(e.ctx, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET `+setting+`', current_database()); END $$`)
				require.NoError(t, err)
				require.NoError(t, tx.Commit(e.ctx))
				e.pool.Reset()
			}
			require.NoError(t, ctx.Err(), "our context did not end")
			require.ErrorIs(t, err, repo.ErrTimeout)
			require.NotErrorIs(t, err, context.DeadlineExceeded)
			got, gerr := e.GetUser(e.ctx, u.ID)
			require.NoError(t, gerr)
			require.EqualValues(t, 30, got.Age, "nothing was written")
			require.Equal(t, 1, e.rows(t, "users"))
		})
	}
}

// TestConnectionClosedMidTransaction: once the server has ended a
// transaction's session, every later statement of it fails with
// ErrUnavailable, recognized by pgconn's ErrConnClosed, not by its text.
func TestConnectionClosedMidTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var errs []error
	err := e.InTx(e.ctx, repo.TxOptions{MaxAttempts: 1}, func(tx *repo.Repo) error {
		u, err := tx.CreateUser(e.ctx, repo.NewUser{Name: "Doomed", Age: 1})
		if err != nil {
			return err
		}
		e.exec(t, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()`)
		for range 2 {
			_, err := tx.GetUser(e.ctx, u.ID)
			errs = append(errs, err)
		}
		return errs[1]
	})
	require.Error(t, err)
	for _, err := range errs {
		require.ErrorIs(t, err, repo.ErrUnavailable)
	}
	require.ErrorIs(t, errs[1], pgconn.ErrConnClosed)
	require.Equal(t, 0, e.rows(t, "users"))
}
