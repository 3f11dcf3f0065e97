package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Reset empties every table the migrations made (found from the catalog, so
// a table you add is emptied too) and restarts their ids at 1, as a seed from
// scratch wants. It is one TRUNCATE ... RESTART IDENTITY, run by the database
// function reset_tables (db/schema/00004_reset_function.sql), so it is
// transactional: called on an InTx's tx whose transaction rolls back, it
// leaves every row and every id sequence exactly as they were.
//
// It takes an exclusive lock on every table until its transaction ends. The
// role needs EXECUTE on reset_tables (migrate.SetupRoles grants it to the app
// role). Errors: ErrTxDone, ErrTxAborted, ErrClosed, ErrUnavailable and the
// context's as for any statement; a database error that matches no sentinel,
// such as a table of another schema referencing these (SQLSTATE 0A000), is
// returned with PostgreSQL's detail and hint in the message.
func (r *Repo) Reset(ctx context.Context) error {
	defer wrote(ctx)
	err := r.q.ResetTables(ctx)
	if err == nil {
		return nil
	}
	if mapped := dbError(ctx, err); mapped != err {
		return fmt.Errorf("reset: %w", mapped) // a sentinel's message carries the detail already
	}
	return fmt.Errorf("reset: %s%w", serverDetail(err), err)
}

// serverDetail returns the detail and hint of a PostgreSQL error as a prefix
// for a message ("Table "x" references "users". Truncate ...: "), since
// PgError's own message leaves them out; "" when there are none.
func serverDetail(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return ""
	}
	parts := make([]string, 0, 2)
	for _, s := range []string{pgErr.Detail, pgErr.Hint} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " ") + ": "
}
