package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// TestSessionEndedByServer: a session the server ends (its idle timeouts, a
// dropped database) is ErrUnavailable, like a terminated backend.
func TestSessionEndedByServer(t *testing.T) {
	t.Parallel()
	for _, code := range []string{pgerrcode.IdleInTransactionSessionTimeout, pgerrcode.IdleSessionTimeout,
		pgerrcode.DatabaseDropped, pgerrcode.AdminShutdown} {
		err := dbError(context.Background(), &pgconn.PgError{Severity: "FATAL", Code: code})
		require.ErrorIs(t, err, ErrUnavailable, code)
	}
}

// TestDBErrorContextDone: once ctx has ended, a cancelled statement (or a
// connection cut off) gives the context's error, but any other answer of
// the server's keeps its sentinel: a duplicate key is still ErrConflict.
func TestDBErrorContextDone(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := dbError(ctx, &pgconn.PgError{Severity: "ERROR", Code: pgerrcode.UniqueViolation})
	require.ErrorIs(t, err, ErrConflict)
	require.NotErrorIs(t, err, context.Canceled)
	err = dbError(ctx, &pgconn.PgError{Severity: "ERROR", Code: pgerrcode.QueryCanceled})
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, ErrTimeout)
	err = dbError(ctx, io.ErrUnexpectedEOF)
	require.ErrorIs(t, err, context.Canceled)
}

// TestKeyRowFromCitus: a foreign key violation in a COPY, as Citus relays it
// from a worker (SQLSTATE XX000 from ReportCopyError, shard names, the
// worker's detail), still names its row by the key in the detail, as on one
// server.
func TestKeyRowFromCitus(t *testing.T) {
	t.Parallel()
	key := func(i int) string { return fmt.Sprintf("(user_id)=(%d)", 1000+i) }
	for name, err := range map[string]*pgconn.PgError{
		"PostgreSQL": {Code: pgerrcode.ForeignKeyViolation, TableName: "posts", ConstraintName: "posts_user_id_fkey",
			Message: `insert or update on table "posts" violates foreign key constraint "posts_user_id_fkey"`,
			Detail:  `Key (user_id)=(1002) is not present in table "users".`},
		"Citus": {Code: pgerrcode.InternalError, Routine: "ReportCopyError",
			Message: `insert or update on table "posts_102041" violates foreign key constraint "posts_user_id_fkey_102041"`,
			Detail:  `Key (user_id)=(1002) is not present in table "users_102009".`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, 2, keyRow(err, 5, key))
			require.Equal(t, -1, keyRow(err, 2, key), "no row of these has the key")
		})
	}
}

// TestCopyKeyErrorFromCitus: an email registered already, refused in a COPY
// of email_owners as Citus relays it (no line: the worker's context is not
// passed on), names the input row that carried the key, through the rows'
// owners, as the line does on one server.
func TestCopyKeyErrorFromCitus(t *testing.T) {
	t.Parallel()
	keys := []string{"a@example.com", "b@example.com", "taken@example.com"}
	owners := []int32{0, 0, 1} // two addresses of input row 0, one of row 1
	err := copyKeyError(context.Background(), &pgconn.PgError{Code: pgerrcode.InternalError, Routine: "ReportCopyError",
		Message: `duplicate key value violates unique constraint "email_owners_pkey_102099"`,
		Detail:  `Key (email_key)=(taken@example.com) already exists.`},
		"email_owners", 11, owners, len(keys), func(i int) string { return "(email_key)=(" + keys[i] + ")" })
	require.ErrorIs(t, err, ErrConflict)
	var rowErr *RowError
	require.ErrorAs(t, err, &rowErr)
	require.EqualValues(t, 12, rowErr.Position, "input row 1 of a batch starting at 11")
	require.Equal(t, "email_owners", rowErr.Table)
}

// TestCitusMoveErrors: what Citus says while a shard moves or a node is
// away is ErrUnavailable, and a write refused whole by it (or by a lost
// race) is known not written, so safe to send again, and its COMMIT's
// outcome known; a table of the statement's own that is missing, another
// internal error, a session the server ended, or a pooler's connection
// error are not.
func TestCitusMoveErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name        string
		err         *pgconn.PgError
		unavailable bool
		again       bool
	}{
		{"ShardMoved", &pgconn.PgError{Severity: "ERROR", Code: pgerrcode.UndefinedTable,
			Message: `relation "users_102009" does not exist`}, true, true},
		{"CopyToALostWorker", &pgconn.PgError{Severity: "ERROR", Code: pgerrcode.InternalError,
			Message: "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally"}, true, false},
		{"CoordinatorGone", &pgconn.PgError{Severity: "ERROR", Code: pgerrcode.InternalError,
			Message: "postmaster was shut down, exiting"}, true, false},
		{"WorkerLostMidStatement", &pgconn.PgError{Severity: "ERROR", Code: pgerrcode.ConnectionFailure,
			Message: "connection to the remote node postgres@127.0.0.1:5433 failed with the following error: connection not open"}, true, false},
		{"WorkerDown", &pgconn.PgError{Severity: "ERROR", Code: pgerrcode.ConnectionFailure,
			Message: "connection to the remote node postgres@127.0.0.1:5433 failed with the following error: Connection refused"}, true, true},
		{"PoolerLostTheServer", &pgconn.PgError{Severity: "ERROR", Code: pgerrcode.ConnectionFailure,
			Message: "server conn crashed?"}, true, false},
		{"DistributedDeadlock", &pgconn.PgError{Severity: "ERROR", Code: pgerrcode.DeadlockDetected,
			Message: "canceling the transaction since it was involved in a distributed deadlock"}, false, true},
		{"SerializationFailure", &pgconn.PgError{Severity: "ERROR", Code: pgerrcode.SerializationFailure}, false, true},
		{"NoSuchTable", &pgconn.PgError{Severity: "ERROR", Code: pgerrcode.UndefinedTable,
			Message: `relation "user_import" does not exist`}, false, false},
		{"OtherInternalError", &pgconn.PgError{Severity: "ERROR", Code: pgerrcode.InternalError,
			Message: "could not find valid entry for shard 102009"}, false, false},
		{"DeadlockEndingTheSession", &pgconn.PgError{Severity: "FATAL", Code: pgerrcode.DeadlockDetected}, false, false},
		{"CompletionUnknown", &pgconn.PgError{Severity: "ERROR", Code: pgerrcode.StatementCompletionUnknown}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.unavailable, errors.Is(dbError(context.Background(), c.err), ErrUnavailable))
			require.Equal(t, c.again, rolledBack(fmt.Errorf("wrapped: %w", c.err)))
			// Unknown: a session ended, or a connection error not Citus's (a pooler's).
			lost := c.err.Severity == "FATAL" || c.unavailable && !c.again && !citusNodeError(c.err)
			require.Equal(t, lost, answerLost(c.err), "the outcome of a COMMIT this answered is unknown")
			if citusNodeError(c.err) {
				// In a transaction of the repository's own the ERROR rolled
				// it all back; a statement outside one, which its worker
				// may have committed, is unknown unless the node was never
				// reached.
				require.True(t, rolledBack(ownTxError{fmt.Errorf("wrapped: %w", c.err)}))
				require.False(t, errors.Is(statementError(context.Background(), ownTxError{c.err}, true), ErrCommitUnknown))
				require.Equal(t, !c.again, errors.Is(statementError(context.Background(), c.err, true), ErrCommitUnknown))
			}
		})
	}
}
