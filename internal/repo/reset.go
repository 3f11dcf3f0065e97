package repo

import (
	"context"
	"fmt"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// Reset empties every table of the public schema (found from the catalog, so
// a table you add is emptied too, whatever its foreign keys: to users, to
// posts, to other users' rows, to no one) and restarts their ids at 1, as a
// seed from scratch wants. A table of another schema that refers to one of
// these stops it (below). It is one TRUNCATE ... RESTART IDENTITY, run by the database
// function reset_tables (db/schema/00004_reset_function.sql), so it is
// transactional: called on an InTx's tx whose transaction rolls back, it
// leaves every row and every id sequence exactly as they were.
//
// It empties only tables the caller may truncate: one it may not stops it
// (SQLSTATE 42501, the table named) and nothing is emptied. Run it with no
// concurrent writers: a bulk load that reserved ids before the reset may
// insert them after it, ahead of the restarted sequences.
//
// It takes an exclusive lock on every table until its transaction ends. The
// role needs EXECUTE on reset_tables (migrate.SetupRoles grants it to the app
// role). Errors: ErrTxDone, ErrTxAborted, ErrClosed, ErrUnavailable and the
// context's as for any statement; a database error that matches no sentinel,
// such as a table of another schema referencing these (SQLSTATE 0A000), is
// returned with PostgreSQL's detail and hint in the message.
func (r *Repo) Reset(ctx context.Context) error {
	_, err := writing(ctx, r, func(q *dbgen.Queries) (struct{}, error) {
		return struct{}{}, q.ResetTables(ctx)
	})
	if err != nil {
		return fmt.Errorf("reset: %w", dbError(ctx, err))
	}
	return nil
}
