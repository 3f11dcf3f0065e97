package repo

import (
	"context"
	"fmt"
	"iter"

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
// it goes: a user who has that email (compared as emailKey compares: any
// letter case, any Unicode normalization form) takes the row's name and age;
// an email nobody has becomes a new user with that address, stored as given.
// Each batch is copied into a temporary table with COPY and merged with two
// statements. The result counts users inserted (Users, with as many
// Addresses), Updated, and Unchanged.
//
// Each batch is all or nothing (or the whole import, with OneTransaction).
// A bad row fails its batch with a *RowError naming its position: a malformed
// value (ErrInvalid) or an email twice in one batch (ErrConflict) before
// anything of the batch is sent; two rows of one batch that address one user
// by two of their emails (ErrConflict, naming both rows: which should win is
// not ours to guess); an email registered by a concurrent transaction in the
// meantime (ErrConflict), or the user of an email deleted or changed by one
// while the batch waited for them (ErrConflict: run the import again).
// Across batches, rows apply in order: a later batch updates what an
// earlier one wrote.
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
		params[i] = dbgen.CopyUserImportsParams{Position: first + int64(i), Email: row.Email, Name: row.Name, Age: row.Age}
	}
	q := tx.queries()
	if _, err := q.CopyUserImports(ctx, params); err != nil {
		return BulkResult{}, copyError(ctx, err, "user_imports", first, nil)
	}
	up, err := q.UpdateImportedUsers(ctx)
	if err != nil {
		return BulkResult{}, &RowError{Table: "users", Err: dbError(ctx, err)}
	}
	if up.SharedSecond != 0 {
		return BulkResult{}, &RowError{Position: up.SharedSecond, Table: "users", Err: fmt.Errorf(
			"%w: its email and row %d's are two addresses of one user", ErrConflict, up.SharedFirst)}
	}
	if up.GonePosition != 0 {
		email := rows[up.GonePosition-first].Email
		return BulkResult{}, &RowError{Position: up.GonePosition, Table: "users", Err: fmt.Errorf(
			"%w: the user of email %q was deleted or changed by a concurrent transaction", ErrConflict, short(email))}
	}
	ins, err := q.InsertImportedUsers(ctx)
	if err != nil {
		// An address with no email_owners row (another client's, on one
		// server) is found by addresses' unique index instead.
		emails := make([]string, len(rows))
		for i, row := range rows {
			emails[i] = row.Email
		}
		err = dbError(ctx, err)
		if i := takenEmail(err, emails); i >= 0 {
			return BulkResult{}, &RowError{Position: first + int64(i), Table: "addresses", Err: emailTaken(rows[i].Email, err)}
		}
		return BulkResult{}, &RowError{Table: "addresses", Err: err}
	}
	if ins.TakenPosition != 0 {
		email := rows[ins.TakenPosition-first].Email
		return BulkResult{}, &RowError{Position: ins.TakenPosition, Table: "addresses", Err: fmt.Errorf(
			"%w: email %q was registered by a concurrent transaction", ErrConflict, short(email))}
	}
	// Dropped now, not at commit, so that the next batch of a one-transaction
	// import can create it again.
	if err := q.DropUserImports(ctx); err != nil {
		return BulkResult{}, dbError(ctx, err)
	}
	return BulkResult{
		Users: ins.Inserted, Addresses: ins.Inserted, Updated: up.Updated,
		Unchanged: int64(len(rows)) - ins.Inserted - up.Updated,
	}, nil
}
