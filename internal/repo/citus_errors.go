package repo

import (
	"errors"
	"regexp"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
)

// Citus relays a worker's error to the client with less than PostgreSQL
// gives: no table or constraint name fields, names of shards (users_102008)
// in the message, and, for rows written by COPY (an INSERT ... SELECT through
// the coordinator: the steps of a statement with data-modifying CTEs),
// SQLSTATE XX000 from its ReportCopyError instead of the worker's code.
// fromCitus puts back what the message still says, so that errors map to the
// same sentinels and name the same tables on Citus as on one server. On one
// server it returns pgErr as it is.
func fromCitus(pgErr *pgconn.PgError) *pgconn.PgError {
	if pgErr.TableName != "" || pgErr.ConstraintName != "" || !shardName.MatchString(pgErr.Message) {
		return pgErr
	}
	e := *pgErr
	if e.Code == pgerrcode.InternalError && e.Routine == "ReportCopyError" {
		for _, c := range copyErrorCodes {
			if strings.Contains(e.Message, c.says) {
				e.Code = c.code
				break
			}
		}
	}
	// A foreign key's error names the referencing table last ("update or
	// delete on table "users_1" violates foreign key constraint "..." on
	// table "posts_1""), as PostgreSQL's TableName does.
	if m := referencingOf.FindStringSubmatch(e.Message); m != nil {
		e.TableName = unshard(m[1])
	} else if m := relationOf.FindStringSubmatch(e.Message); m != nil {
		e.TableName = unshard(m[1])
	}
	if m := constraintOf.FindStringSubmatch(e.Message); m != nil {
		e.ConstraintName = unshard(m[1])
	}
	return &e
}

// copyErrorCodes are the worker's SQLSTATEs by what their (English) message says.
var copyErrorCodes = []struct{ says, code string }{
	{"duplicate key value violates unique constraint", pgerrcode.UniqueViolation},
	{"violates foreign key constraint", pgerrcode.ForeignKeyViolation},
	{"violates check constraint", pgerrcode.CheckViolation},
	{"violates not-null constraint", pgerrcode.NotNullViolation},
}

var (
	// A quoted name ending in a shard id (Citus's start at 102008).
	shardName     = regexp.MustCompile(`"[^"]+_[0-9]{6,}"`)
	relationOf    = regexp.MustCompile(`(?:relation|on table) "([^"]+)"`)
	referencingOf = regexp.MustCompile(`constraint "[^"]+" on table "([^"]+)"`)
	constraintOf  = regexp.MustCompile(`constraint "([^"]+)"`)
	shardSuffix   = regexp.MustCompile(`_[0-9]{6,}$`)
)

// unshard turns a shard's name (users_102008) into its table's.
func unshard(name string) string { return shardSuffix.ReplaceAllString(name, "") }

// shardMoved reports whether a Citus error says that a shard the statement
// was planned on is gone from its node: a statement planned before a shard
// move's switch-over that reaches the old placement once it is dropped
// (relation "users_102008" does not exist; Citus does not re-plan a read,
// citusdata/citus#2536). The statement did nothing; asked again, it is
// planned on the shard's new node. A table of the statement's own that is
// missing names no shard.
func shardMoved(pgErr *pgconn.PgError) bool {
	return pgErr.Code == pgerrcode.UndefinedTable && shardName.MatchString(pgErr.Message)
}

// nodeLost reports whether a Citus error is a node going away under a
// statement, which Citus says as an internal error (XX000) in some paths:
// a worker's connection lost under a COPY (libpq's "server closed the
// connection unexpectedly", where other paths say 08006), or the
// coordinator's own postmaster gone while the session waited for a worker
// ("postmaster was shut down, exiting"). Either way the statement, and its
// transaction, failed whole, with an ERROR.
func nodeLost(pgErr *pgconn.PgError) bool {
	if pgErr.Code != pgerrcode.InternalError {
		return false
	}
	for _, says := range libpqLost {
		if strings.Contains(pgErr.Message, says) {
			return true
		}
	}
	return false
}

// libpqLost are what libpq says of a connection lost or refused, and what
// Citus says when its postmaster dies under a wait.
var libpqLost = []string{
	"postmaster was shut down",
	"server closed the connection unexpectedly",
	"connection not open",
	"no connection to the server",
	"could not connect to server",
	"Connection refused",
}

// citusNodeError reports whether a Citus coordinator says, with an ERROR,
// that it could not reach a node (a worker down or restarting): "connection
// to the remote node <host>:<port> failed ..." (08006), or nodeLost's
// XX000. The coordinator's session goes on. In a transaction block (a
// pipeline's or InTx's) the ERROR rolled the transaction back: nothing of it
// was committed (a node lost after the coordinator committed gives a
// WARNING, and the commit stands). Outside one, a statement on one shard
// runs on its worker in autocommit, which may have committed before the
// connection broke: see nodeLostMidStatement.
func citusNodeError(pgErr *pgconn.PgError) bool {
	return nodeLost(pgErr) || strings.HasPrefix(pgErr.Code, "08") && strings.HasPrefix(pgErr.Message, "connection to the remote node")
}

// nodeNeverReached reports whether a citusNodeError says the coordinator
// could not open its connection to the node: nothing was sent to it.
func nodeNeverReached(pgErr *pgconn.PgError) bool {
	return strings.Contains(pgErr.Message, "Connection refused") || strings.Contains(pgErr.Message, "could not connect to server")
}

// nodeLostMidStatement reports whether err is a Citus node lost once a
// statement outside a transaction block may have reached it: the worker
// may have committed it before its connection broke, so its outcome is
// unknown. An error from a transaction of the repository's own (ownTx) is
// not: the ERROR rolled it back.
func nodeLostMidStatement(err error) bool {
	var pgErr *pgconn.PgError
	var own ownTxError
	return errors.As(err, &pgErr) && citusNodeError(pgErr) && !nodeNeverReached(pgErr) && !errors.As(err, &own)
}

// ownTxError marks the error of statements that ran in a transaction the
// repository began and ended itself (a pipeline's, see pipelineSQL): a
// server's ERROR among them rolled all of them back.
type ownTxError struct{ error }

func (e ownTxError) Unwrap() error { return e.error }
