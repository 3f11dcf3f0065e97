package repo_test

import (
	"cmp"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
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

// sentinels are every error of errors.go a server's error may map to.
var sentinels = []error{repo.ErrNotFound, repo.ErrConflict, repo.ErrInvalid, repo.ErrSerialization,
	repo.ErrTxDone, repo.ErrTxAborted, repo.ErrTimeout, repo.ErrReadOnly, repo.ErrPermission,
	repo.ErrNotEmpty, repo.ErrClosed, repo.ErrUnavailable, repo.ErrCommitUnknown}

// TestSQLSTATEMapping: every SQLSTATE class the repository can meet maps
// to the sentinel errors.go's table gives, or to none. Where it is cheap, a
// statement provokes the code on the server too, and the server's own
// error maps the same.
func TestSQLSTATEMapping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code, severity string
		sql            string // provokes code on the server, in a transaction rolled back; "" for none
		want           error  // nil: no sentinel
	}{
		{code: pgerrcode.ConnectionException, severity: "FATAL", want: repo.ErrUnavailable},
		{code: pgerrcode.ConnectionFailure, severity: "FATAL", want: repo.ErrUnavailable},
		{code: pgerrcode.ProtocolViolation, severity: "FATAL", want: repo.ErrUnavailable},
		{code: pgerrcode.UniqueViolation, want: repo.ErrConflict,
			sql: "CREATE TEMP TABLE t (a int UNIQUE); INSERT INTO t VALUES (1), (1)"},
		{code: pgerrcode.ExclusionViolation, want: repo.ErrConflict,
			sql: "CREATE TEMP TABLE t (r int4range, EXCLUDE USING gist (r WITH &&)); INSERT INTO t VALUES ('[1,3)'), ('[2,4)')"},
		{code: pgerrcode.RestrictViolation, want: repo.ErrConflict},
		// A row still referenced is ErrConflict: TestForeignKeyErrors.
		{code: pgerrcode.ForeignKeyViolation, want: repo.ErrNotFound,
			sql: "CREATE TEMP TABLE p (id int PRIMARY KEY); CREATE TEMP TABLE c (p int REFERENCES p); INSERT INTO c VALUES (1)"},
		{code: pgerrcode.CheckViolation, want: repo.ErrInvalid,
			sql: "CREATE TEMP TABLE t (a int CHECK (a > 0)); INSERT INTO t VALUES (0)"},
		{code: pgerrcode.NotNullViolation, want: repo.ErrInvalid,
			sql: "CREATE TEMP TABLE t (a int NOT NULL); INSERT INTO t VALUES (NULL)"},
		{code: pgerrcode.IntegrityConstraintViolation, want: repo.ErrInvalid},
		{code: pgerrcode.InvalidParameterValue, want: repo.ErrInvalid,
			sql: "SELECT set_config('maintenance_work_mem', 'lots', true)"},
		{code: pgerrcode.NumericValueOutOfRange, want: repo.ErrInvalid, sql: "SELECT 2147483647 + 1"},
		{code: pgerrcode.DivisionByZero, want: repo.ErrInvalid, sql: "SELECT 1 / 0"},
		{code: pgerrcode.InvalidTextRepresentation, want: repo.ErrInvalid, sql: "SELECT 'x'::int"},
		{code: pgerrcode.CharacterNotInRepertoire, want: repo.ErrInvalid, sql: `SELECT convert_from('\xff', 'UTF8')`},
		{code: pgerrcode.StringDataRightTruncationDataException, want: repo.ErrInvalid,
			sql: "CREATE TEMP TABLE t (a varchar(2)); INSERT INTO t VALUES ('abc')"},
		{code: pgerrcode.InvalidDatetimeFormat, want: repo.ErrInvalid, sql: "SELECT 'yesterday-ish'::date"},
		{code: pgerrcode.SerializationFailure, want: repo.ErrSerialization},
		{code: pgerrcode.DeadlockDetected, want: repo.ErrSerialization},
		{code: pgerrcode.TransactionRollback, want: repo.ErrTxAborted},
		{code: pgerrcode.InFailedSQLTransaction, want: repo.ErrTxAborted,
			sql: "SELECT 1 / 0"}, // and then a statement, in the aborted transaction: see below
		{code: pgerrcode.ReadOnlySQLTransaction, want: repo.ErrReadOnly,
			sql: "SET TRANSACTION READ ONLY; CREATE TEMP TABLE t (a int)"},
		{code: pgerrcode.InsufficientPrivilege, want: repo.ErrPermission},
		{code: pgerrcode.LockNotAvailable, want: repo.ErrTimeout},
		{code: pgerrcode.QueryCanceled, want: repo.ErrTimeout,
			sql: "SET LOCAL statement_timeout = '10ms'; SELECT pg_sleep(10)"},
		{code: pgerrcode.AdminShutdown, severity: "FATAL", want: repo.ErrUnavailable},
		{code: pgerrcode.CrashShutdown, severity: "FATAL", want: repo.ErrUnavailable},
		{code: pgerrcode.CannotConnectNow, severity: "FATAL", want: repo.ErrUnavailable},
		{code: pgerrcode.DatabaseDropped, severity: "FATAL", want: repo.ErrUnavailable},
		{code: pgerrcode.IdleSessionTimeout, severity: "FATAL", want: repo.ErrUnavailable},
		{code: pgerrcode.IdleInTransactionSessionTimeout, severity: "FATAL", want: repo.ErrUnavailable},
		{code: pgerrcode.TooManyConnections, severity: "FATAL", want: repo.ErrUnavailable},
		{code: pgerrcode.OutOfMemory, want: repo.ErrUnavailable},
		{code: pgerrcode.DiskFull, want: repo.ErrUnavailable},
		{code: pgerrcode.ProgramLimitExceeded, want: repo.ErrInvalid, sql: "SELECT repeat('x', 1 << 30)"},
		{code: pgerrcode.TooManyArguments, want: repo.ErrInvalid},
		{code: pgerrcode.SyntaxError, sql: "SELEC 1"},
		{code: pgerrcode.UndefinedTable, sql: "SELECT FROM no_such_table"},
		{code: pgerrcode.UndefinedColumn, sql: "SELECT no_such_column FROM users"},
		{code: pgerrcode.UndefinedFunction, sql: "SELECT no_such_function()"},
		{code: pgerrcode.FeatureNotSupported},
		{code: pgerrcode.InternalError},
	}
	e := newEnv(t)
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			t.Parallel()
			check := func(t *testing.T, err error) {
				t.Helper()
				mapped := repo.DBError(context.Background(), err)
				var pgErr *pgconn.PgError
				require.ErrorAs(t, mapped, &pgErr, "the server's error stays in the chain")
				for _, s := range sentinels {
					if s == c.want {
						require.ErrorIs(t, mapped, s)
					} else {
						require.NotErrorIs(t, mapped, s)
					}
				}
			}
			check(t, &pgconn.PgError{Severity: cmp.Or(c.severity, "ERROR"), Code: c.code, Message: "made up"})
			if c.sql == "" {
				return
			}
			err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error {
				_, err := tx.Exec(e.ctx, c.sql)
				if c.code == pgerrcode.InFailedSQLTransaction {
					_, err = tx.Exec(e.ctx, "SELECT 1")
				}
				return err
			})
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr)
			require.Equal(t, c.code, pgErr.Code, pgErr.Message)
			check(t, err)
		})
	}
}

// TestInitialLoadErrors: an initial load's own failures match the sentinels
// its doc names: rows that break an exclusion constraint are a conflict,
// as a duplicate key is; a maintenance_work_mem the server does not accept
// is invalid. Nothing stays.
func TestInitialLoadErrors(t *testing.T) {
	t.Parallel()
	t.Run("ExclusionViolation", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		// With the distribution column, so that Citus accepts it.
		e.exec(t, "ALTER TABLE posts ADD CONSTRAINT posts_one_title EXCLUDE USING btree (user_id WITH =, title WITH =)")
		seq := func(yield func(repo.UserGraph, error) bool) {
			i := 0
			for g, err := range fakeGraphs(12, 50) {
				if i++; i == 20 {
					g.Posts = append(g.Posts, repo.GraphPost{Title: "Twice", Content: "a"}, repo.GraphPost{Title: "Twice", Content: "b"})
				}
				if !yield(g, err) {
					return
				}
			}
		}
		_, err := e.InitialLoadGraphs(e.ctx, seq, repo.InitialLoadOptions{})
		require.ErrorIs(t, err, repo.ErrConflict)
		require.NotErrorIs(t, err, repo.ErrInvalid)
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr)
		require.Equal(t, pgerrcode.ExclusionViolation, pgErr.Code)
		require.Zero(t, e.rows(t, "users"))
	})
	t.Run("MaintenanceWorkMem", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.InitialLoadGraphs(e.ctx, fakeGraphs(13, 10), repo.InitialLoadOptions{MaintenanceWorkMem: "lots"})
		require.ErrorIs(t, err, repo.ErrInvalid)
		require.ErrorContains(t, err, "maintenance_work_mem")
		require.Zero(t, e.rows(t, "users"))
	})
}
