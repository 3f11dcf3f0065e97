package repo

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"regexp"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/inkwell-dev/inkwell/db"
	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// UserImport is one row of an import: a user known by one of their emails.
type UserImport struct {
	Email string
	Name  string
	Age   int32
}

// UpsertUsersByEmail imports users keyed by email, reading them from rows as
// it goes: a user who has that email (in any letter case) takes the row's name
// and age; an email nobody has becomes a new user with that address. Each
// batch is copied into a temporary table with COPY and merged with two
// statements. The result counts users inserted (Users, with as many
// Addresses), Updated, and Unchanged.
//
// Each batch is all or nothing (or the whole import, with OneTransaction).
// A bad row fails its batch with a *RowError naming its position: a malformed
// value (ErrInvalid) or an email twice in one batch (ErrConflict) before
// anything of the batch is sent; an email registered by a concurrent
// transaction in the meantime (ErrConflict) by the database.
func (r *Repo) UpsertUsersByEmail(ctx context.Context, rows iter.Seq2[UserImport, error], opts BulkOptions) (BulkResult, error) {
	defer wrote(ctx)
	size, err := opts.batchSize()
	if err != nil {
		return BulkResult{}, fmt.Errorf("upsert users by email: %w", err)
	}
	b := importBatch{emails: newBatchEmails(size)}
	res, err := batches(ctx, r, rows, opts, b.check, b.upsert)
	if err != nil {
		return res, fmt.Errorf("upsert users by email: %w", err)
	}
	return res, nil
}

type importBatch struct {
	emails batchEmails
}

func (b *importBatch) check(position int64, row UserImport) error {
	b.emails.row(position)
	if err := (NewUser{Name: row.Name, Age: row.Age}).validate(); err != nil {
		return err
	}
	if err := checkEmail(row.Email); err != nil {
		return err
	}
	return b.emails.add(position, row.Email)
}

func (b *importBatch) upsert(ctx context.Context, tx *Repo, first int64, rows []UserImport) (BulkResult, error) {
	if _, err := tx.tx.Exec(ctx, db.UserImportsTable); err != nil {
		return BulkResult{}, dbError(ctx, err)
	}
	params := make([]dbgen.CopyUserImportsParams, len(rows))
	for i, row := range rows {
		params[i] = dbgen.CopyUserImportsParams{Email: row.Email, Name: row.Name, Age: row.Age}
	}
	q := tx.queries()
	if _, err := q.CopyUserImports(ctx, params); err != nil {
		return BulkResult{}, copyError(ctx, err, "user_imports", first, nil)
	}
	updated, err := q.UpdateImportedUsers(ctx)
	if err != nil {
		return BulkResult{}, b.mergeError(ctx, err, "users")
	}
	inserted, err := q.InsertImportedUsers(ctx)
	if err != nil {
		return BulkResult{}, b.mergeError(ctx, err, "addresses")
	}
	// Dropped now, not at commit, so that the next batch of a one-transaction
	// import can create it again.
	if err := q.DropUserImports(ctx); err != nil {
		return BulkResult{}, dbError(ctx, err)
	}
	return BulkResult{
		Users: inserted, Addresses: inserted, Updated: updated,
		Unchanged: int64(len(rows)) - inserted - updated,
	}, nil
}

// takenKey finds the value in a unique violation's detail:
// "Key (lower(email))=(a@b.c) already exists."
var takenKey = regexp.MustCompile(`\)=\((.*)\) already exists`)

// mergeError names the import row that a merge statement failed on, when
// the database says which email it was.
func (b *importBatch) mergeError(ctx context.Context, err error, table string) error {
	rowErr := &RowError{Table: table, Err: dbError(ctx, err)}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if m := takenKey.FindStringSubmatch(pgErr.Detail); m != nil {
			rowErr.Position = b.emails.position(m[1])
		}
	}
	return rowErr
}
