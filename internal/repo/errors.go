package repo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
)

// Errors returned by the repository. Test for them with errors.Is; the driver's
// error, when there is one, stays reachable with errors.As (*pgconn.PgError).
//
// A server's error maps by its SQLSTATE (its code first, then its class):
//
//	23505 unique, 23P01 exclusion, 23001 restrict     ErrConflict
//	23503 foreign key                                 ErrNotFound (a missing reference), or
//	                                                  ErrConflict (a row still referenced)
//	23514 check, 23502 not null, other class 23       ErrInvalid
//	class 22 data exception (22023 a bad option too)  ErrInvalid
//	class 54 program limit exceeded (input too big)   ErrInvalid
//	40001 serialization failure, 40P01 deadlock       ErrSerialization
//	other class 40 (transaction rolled back), 25P02   ErrTxAborted
//	55P03 lock not available, 57014 query canceled    ErrTimeout (the context's error if it ended)
//	25006 read-only transaction                       ErrReadOnly
//	42501 insufficient privilege                      ErrPermission
//	class 08 connection exception; 57P01 admin        ErrUnavailable
//	shutdown, 57P02 crash shutdown, 57P03 cannot
//	connect now, 57P04 database dropped, 57P05 and
//	25P03 idle timeouts; class 53 insufficient
//	resources (too many connections, out of memory,
//	disk full); on Citus also 42P01 naming a shard
//	(it moved) and XX000 saying a node's connection
//	was lost (see citus_errors.go)
//
// Anything else matches no sentinel, deliberately: the rest of class 42
// (syntax error, undefined table, column or function) is a bug, or a schema
// the migrations have not brought up to date, and XX000 an internal error
// of the server, none of them the caller's input nor worth a retry; the
// *pgconn.PgError says what, and the message keeps its detail and hint.
var (
	// ErrNotFound: the row asked for does not exist, or a row refers to one
	// that does not (a foreign key violation).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique rule is broken, such as an email already
	// registered; or a row cannot be deleted (or its key changed) because rows
	// of another table still refer to it through a foreign key that does not
	// cascade: the message names that table.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input breaks a rule, caught by validation before the
	// database (see FieldError) or by a constraint of the schema.
	ErrInvalid = errors.New("invalid input")
	// ErrSerialization: the transaction lost a race with a concurrent one
	// (serialization failure or deadlock) and retries, if any, were used up.
	ErrSerialization = errors.New("transaction conflicted with a concurrent one")
	// ErrTxDone: the transaction was already committed or rolled back, as when
	// the *Repo handed to an InTx function is kept and used after it returns.
	ErrTxDone = errors.New("transaction already committed or rolled back")
	// ErrTxAborted: an earlier statement of the transaction failed, so
	// PostgreSQL rolled it back; nothing of it was committed. From a nested
	// InTx, only its savepoint was rolled back: the outer transaction goes on.
	ErrTxAborted = errors.New("transaction aborted by an earlier error")
	// ErrTimeout: the server gave up on a statement while the caller's
	// context was still live: lock_timeout (SQLSTATE 55P03, also a NOWAIT
	// lock) or statement_timeout (57014; a cancel sent by someone else, such
	// as pg_cancel_backend, looks the same). The statement did nothing; in a
	// transaction, the transaction is aborted. A context that ends gives its
	// own error (context.DeadlineExceeded or context.Canceled) instead.
	ErrTimeout = errors.New("timed out on the server")
	// ErrReadOnly: a write was sent where only reads are allowed: in a
	// transaction with TxOptions.ReadOnly, or to a server that accepts only
	// reads (a hot standby, default_transaction_read_only); SQLSTATE 25006.
	// Nothing was written.
	ErrReadOnly = errors.New("read-only transaction")
	// ErrPermission: the role lacks a right the call needs, such as owning
	// the tables an initial load alters (SQLSTATE 42501 too). Nothing was
	// written.
	ErrPermission = errors.New("permission denied")
	// ErrNotEmpty: an initial load found rows in a table it loads; nothing
	// was written. It comes with ErrLoadRefused.
	ErrNotEmpty = errors.New("table not empty")
	// ErrLoadRefused: an initial load could not start, and changed nothing:
	// a table has rows (ErrNotEmpty too), the role may not alter the tables
	// (ErrPermission too), or an object is in the way of taking a key, index
	// or foreign key off, such as a view that depends on a table's key. The
	// rows themselves were not looked at: BulkInsertGraphs may still add
	// them. A failure of the data (a bad row, a duplicate key) is not a
	// refusal.
	ErrLoadRefused = errors.New("refused")
	// ErrClosed: the pool was closed.
	ErrClosed = errors.New("connection pool is closed")
	// ErrUnavailable: the server could not be reached, went away (restart,
	// crash, network), or ended the session (pg_terminate_backend). A write
	// whose outcome this leaves unknown (its statement or COMMIT was sent)
	// matches ErrCommitUnknown too; without it, nothing was committed. Reads
	// are retried, twice at most (readAttempts).
	ErrUnavailable = errors.New("database unavailable")
	// ErrCommitUnknown: a COMMIT was sent but its answer was lost, so
	// whether the transaction committed is unknown: look before writing it
	// again. It comes with its cause: the caller's context ended while the
	// COMMIT was in flight and the server did not answer within a second
	// more (the error also matches context.Canceled or
	// context.DeadlineExceeded), or the connection was lost (it also matches
	// ErrUnavailable). Any other error from a transaction's COMMIT (InTx,
	// the bulk and initial loads, a write's own BEGIN ... COMMIT pipeline)
	// means nothing of it was committed; a context that ends before the
	// COMMIT is sent gives the context's error alone, and nothing is
	// committed. A one-statement write outside a transaction commits with
	// its statement: on OpenPool's pools a context that ends in flight still
	// gets its answer (a cancel request cannot undo a commit); on a pool with
	// pgx's default handler, which cuts the read off, it is ErrCommitUnknown
	// (with the context's error), as is a context that ends while such a
	// write waits for a connection (pgx says the same for both).
	ErrCommitUnknown = errors.New("commit outcome unknown")
)

// FieldError is a validation failure: which field, the value given, and what
// is wrong with it. It matches ErrInvalid with errors.Is.
type FieldError struct {
	Field   string
	Value   string
	Problem string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%v: %s %q %s", ErrInvalid, e.Field, short(e.Value), e.Problem)
}

// Is makes errors.Is(err, ErrInvalid) true for a *FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// invalid builds a FieldError, shortening a long value so that the message
// stays readable.
func invalid(field, value, problem string) *FieldError {
	return &FieldError{Field: field, Value: short(value), Problem: problem}
}

// Inputs quoted in error messages go through short or shortList, so that a
// message stays a line long whatever the input (a 1 MiB name, a million tags).
const (
	maxShown  = 64 // runes of one value
	maxListed = 5  // values of a list
)

// short cuts s to maxShown runes, marking the cut with "...".
func short(s string) string {
	n := 0
	for i := range s {
		if n == maxShown {
			return s[:i] + "..."
		}
		n++
	}
	return s
}

// shortDetail cuts a server's detail, which may quote a whole row ("Failing
// row contains (...)"), to a few values' length.
func shortDetail(d string) string {
	if r := []rune(d); len(r) > 4*maxShown {
		return string(r[:4*maxShown]) + "..."
	}
	return d
}

// shortList quotes the first maxListed values of ss, each shortened, and
// says how many more there are: ["go" "sql" ... 998 more].
func shortList(ss []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range ss {
		if i == maxListed {
			fmt.Fprintf(&b, " ... %d more", len(ss)-i)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Quote(short(s)))
	}
	b.WriteByte(']')
	return b.String()
}

// dbError maps a driver error to the repository's sentinels, keeping the
// driver's error in the chain; ctx is the context the statement ran with. Errors it does not know pass through unchanged.
func dbError(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, ErrCommitUnknown) { // mapped already
		return err
	}
	// A query cancelled because ctx ended fails with the server's "canceling
	// statement" error (or a connection cut off): say why it was cancelled,
	// keeping both. Any other answer of the server's (a duplicate key that
	// came just before ctx ended) is mapped as it is when ctx is live.
	var pgErr *pgconn.PgError
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			// pgx's wrapping ("timeout: context already done") adds nothing.
			return ctxErr
		}
		if !errors.As(err, &pgErr) || pgErr.Code == pgerrcode.QueryCanceled {
			return fmt.Errorf("%w: %w", ctxErr, err)
		}
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, pgx.ErrTxClosed):
		return fmt.Errorf("%w: %w", ErrTxDone, err)
	case errors.Is(err, pgx.ErrTxCommitRollback):
		return fmt.Errorf("%w: %w", ErrTxAborted, err)
	case errors.Is(err, puddle.ErrClosedPool):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	case errors.As(err, &pgErr):
		return pgError(pgErr, err)
	case connectionLost(err):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// sessionLost reports whether err leaves the session gone: anything but
// an ERROR the server sent (after which the session goes on).
func sessionLost(err error) bool {
	var pgErr *pgconn.PgError
	return !errors.As(err, &pgErr) || cmp.Or(pgErr.SeverityUnlocalized, pgErr.Severity) != "ERROR"
}

// rolledBack reports whether err is an ERROR of the server's that undid
// the whole statement (or transaction) for a reason a moment may cure: a
// serialization failure or deadlock (40001, 40P01; on Citus also a
// distributed deadlock, such as a write's with a shard move), a shard that
// moved under it (shardMoved), or a Citus node it could not reach
// (citusNodeError: a worker restarting). Nothing of it was committed.
func rolledBack(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || sessionLost(err) {
		return false
	}
	switch pgErr.Code {
	case pgerrcode.SerializationFailure, pgerrcode.DeadlockDetected:
		return true
	}
	return shardMoved(fromCitus(pgErr)) || citusNodeError(pgErr) && !nodeLostMidStatement(err)
}

// connectionLost reports whether err says the connection or server is gone,
// rather than anything about the statement.
func connectionLost(err error) bool {
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	return pgconn.SafeToRetry(err) || errors.As(err, &netErr) || errors.As(err, &connectErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed) // the connection was closed by an earlier failure
}

func pgError(pgErr *pgconn.PgError, err error) error {
	pgErr = fromCitus(pgErr)
	sentinel := sqlstateSentinel(pgErr.Code)
	switch {
	case shardMoved(pgErr):
		return fmt.Errorf("%w: a shard moved under the statement: %w", ErrUnavailable, err)
	case nodeLost(pgErr):
		return fmt.Errorf("%w: a node of the Citus cluster went away: %w", ErrUnavailable, err)
	case pgErr.Code == pgerrcode.ForeignKeyViolation && stillReferenced(err, pgErr):
		// The server names the referencing table in TableName.
		return fmt.Errorf("%w: still referenced from table %s (%s): %w",
			ErrConflict, pgErr.TableName, pgErr.ConstraintName, err)
	case sentinel == nil:
		// No sentinel, but PgError's message leaves out the detail and
		// hint, which often say what to do ("Truncate table x at the same
		// time"): keep them in the message.
		if d := serverDetail(pgErr); d != "" {
			return fmt.Errorf("%s: %w", d, err)
		}
		return err
	}
	// The detail names the offending value ("Key (lower(email))=(a@b.c) already
	// exists."); the message alone does not.
	if pgErr.Detail != "" {
		return fmt.Errorf("%w: %s: %w", sentinel, shortDetail(pgErr.Detail), err)
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}

// sqlstateSentinel is the sentinel of a SQLSTATE, nil for none: the table
// the Errors' doc comment gives. A code is looked up first, then its class.
func sqlstateSentinel(code string) error {
	switch code {
	case pgerrcode.UniqueViolation, pgerrcode.ExclusionViolation, pgerrcode.RestrictViolation:
		return ErrConflict
	case pgerrcode.ForeignKeyViolation: // or ErrConflict: see pgError
		return ErrNotFound
	case pgerrcode.SerializationFailure, pgerrcode.DeadlockDetected:
		return ErrSerialization
	case pgerrcode.InFailedSQLTransaction:
		return ErrTxAborted
	case pgerrcode.LockNotAvailable, pgerrcode.QueryCanceled:
		// dbError has already told a cancel of ours (ctx ended) apart.
		return ErrTimeout
	case pgerrcode.ReadOnlySQLTransaction:
		return ErrReadOnly
	case pgerrcode.InsufficientPrivilege:
		return ErrPermission
	case pgerrcode.AdminShutdown, pgerrcode.CrashShutdown, pgerrcode.CannotConnectNow, pgerrcode.DatabaseDropped,
		// The server ended the session: idle too long in a transaction (the
		// app role's idle_in_transaction_session_timeout) or at all.
		pgerrcode.IdleInTransactionSessionTimeout, pgerrcode.IdleSessionTimeout:
		return ErrUnavailable
	}
	if len(code) != 5 {
		return nil
	}
	switch code[:2] {
	case "08", "53": // connection exception; insufficient resources
		return ErrUnavailable
	case "22", "23", "54": // data exception; other integrity violations; program limit exceeded
		return ErrInvalid
	case "40": // the server rolled the transaction back
		return ErrTxAborted
	}
	return nil
}

// serverDetail joins a PostgreSQL error's detail and hint; "" when there are none.
func serverDetail(pgErr *pgconn.PgError) string {
	return shortDetail(strings.TrimSpace(pgErr.Detail + " " + pgErr.Hint))
}

// takenEmail returns the index of the email of emails that a conflict,
// mapped by dbError, is about, or -1. An email is unique by two constraints
// on one server (addresses_email_lower_key, for every client, and
// email_owners' key) and by email_owners' alone on Citus; whichever fires,
// its detail shows the key, "Key (email_key(email))=(ann@example.com) already
// exists." or "Key (email_key)=(...)", in any lc_messages language as
// "(%s)=(%s)" (see keyRow), so the email is found by its emailKey there and
// named as given.
func takenEmail(mapped error, emails []string) int {
	var pgErr *pgconn.PgError
	if !errors.Is(mapped, ErrConflict) || !errors.As(mapped, &pgErr) {
		return -1
	}
	for i, e := range emails {
		if strings.Contains(pgErr.Detail, ")=("+emailKey(e)+")") {
			return i
		}
	}
	return -1
}

// emailTaken names the email, as given, of a conflict that takenEmail found.
func emailTaken(email string, conflict error) error {
	return fmt.Errorf("email %q is already registered: %w", short(email), conflict)
}

// emailsTaken names the taken emails, as given and in the order given: those
// a lookup found (conflict nil: nothing failed) or those of a conflict.
func emailsTaken(emails []string, conflict error) error {
	switch {
	case conflict == nil && len(emails) == 1:
		return fmt.Errorf("%w: email %q is already registered", ErrConflict, short(emails[0]))
	case conflict == nil:
		return fmt.Errorf("%w: emails %s are already registered", ErrConflict, shortList(emails))
	case len(emails) == 0:
		return conflict
	case len(emails) == 1:
		return emailTaken(emails[0], conflict)
	}
	return fmt.Errorf("emails %s are already registered: %w", shortList(emails), conflict)
}

// dropRefused is the error of an initial load's drop of o (mapped by
// dbError) that found an object depending on it, such as a view using a
// table's key (SQLSTATE 2BP01), or lacked a right: ErrLoadRefused, naming the
// dependents (the server's detail) without its hint, which suggests a
// CASCADE that would drop them.
func dropRefused(name string, err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	switch pgErr.Code {
	case pgerrcode.DependentObjectsStillExist:
		return fmt.Errorf("%w: cannot take %s off for the load: %s; drop them first, or add the rows "+
			"with BulkInsertGraphs: %w", ErrLoadRefused, name, strings.ReplaceAll(shortDetail(pgErr.Detail), "\n", "; "), pgErr)
	case pgerrcode.InsufficientPrivilege:
		return fmt.Errorf("%w: drop %s: %w", ErrLoadRefused, name, err)
	}
	return fmt.Errorf("drop %s: %w", name, err)
}
