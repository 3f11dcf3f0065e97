package repo

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// DefaultBatchSize is how many input rows (users) a bulk load sends per batch
// when BulkOptions does not say.
const DefaultBatchSize = 10_000

// BulkOptions shape a bulk load.
type BulkOptions struct {
	// BatchSize is the number of input rows per batch; 0 means
	// DefaultBatchSize. Memory grows with the batch, not with the load.
	BatchSize int
	// OneTransaction makes the whole load one transaction: all of it or none.
	// By default each batch commits on its own, so a failure keeps the
	// batches before it and loses only the batch it happened in.
	OneTransaction bool
	// Progress, if set, is called after each batch with the totals so far:
	// committed rows, or, with OneTransaction, rows sent but not yet committed.
	Progress func(BulkResult)
}

func (o BulkOptions) batchSize() (int, error) {
	switch {
	case o.BatchSize == 0:
		return DefaultBatchSize, nil
	case o.BatchSize < 0:
		return 0, invalid("batch size", strconv.Itoa(o.BatchSize), "must be positive")
	}
	return o.BatchSize, nil
}

// BulkResult counts the rows a bulk load wrote, per table.
type BulkResult struct {
	Batches   int
	Users     int64 // inserted
	Addresses int64
	Profiles  int64
	Posts     int64
	PostTags  int64
	Updated   int64 // users an upsert changed
	Unchanged int64 // users an upsert found as they were
}

// Rows is the number of rows written to all tables.
func (r BulkResult) Rows() int64 {
	return r.Users + r.Addresses + r.Profiles + r.Posts + r.PostTags
}

func (r *BulkResult) add(o BulkResult) {
	r.Batches += o.Batches
	r.Users += o.Users
	r.Addresses += o.Addresses
	r.Profiles += o.Profiles
	r.Posts += o.Posts
	r.PostTags += o.PostTags
	r.Updated += o.Updated
	r.Unchanged += o.Unchanged
}

// RowError says which input row a bulk load failed at. Position counts the
// rows the iterator yielded, from 1. Err is the cause: a *FieldError when
// validation refused the row before anything was sent, or the database's
// error mapped to the sentinels (ErrConflict, ErrNotFound, ErrInvalid).
type RowError struct {
	Position int64
	Table    string // the table that refused the row; "" when validation did
	Err      error
}

func (e *RowError) Error() string {
	where := "row " + strconv.FormatInt(e.Position, 10)
	if e.Position == 0 {
		where = "a row" // the database did not say which
	}
	if e.Table != "" {
		where += " (" + e.Table + ")"
	}
	return where + ": " + e.Err.Error()
}

func (e *RowError) Unwrap() error { return e.Err }

// batches reads rows from seq and hands them to flush in batches of size,
// in their own transactions or all in one, as opts say. check validates a row
// as it arrives, before anything of its batch is sent. flush returns what it
// wrote. The result counts what was committed.
func batches[T any](ctx context.Context, r *Repo, seq iter.Seq2[T, error], opts BulkOptions,
	check func(position int64, row T) error,
	flush func(ctx context.Context, tx *Repo, first int64, rows []T) (BulkResult, error),
) (BulkResult, error) {
	size, err := opts.batchSize()
	if err != nil {
		return BulkResult{}, err
	}
	var done BulkResult // written by flushed batches
	load := func(run func(batch func(tx *Repo) error) error) error {
		batch := make([]T, 0, size)
		var position int64
		send := func() error {
			first := position - int64(len(batch)) + 1
			var wrote BulkResult
			err := run(func(tx *Repo) error {
				var err error
				wrote, err = flush(ctx, tx, first, batch)
				return err
			})
			if err != nil {
				return err
			}
			wrote.Batches = 1
			done.add(wrote)
			if opts.Progress != nil {
				opts.Progress(done)
			}
			batch = batch[:0]
			return nil
		}
		for row, err := range seq {
			position++
			if err != nil {
				return fmt.Errorf("row %d: reading input: %w", position, err)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := check(position, row); err != nil {
				return &RowError{Position: position, Err: err}
			}
			batch = append(batch, row)
			if len(batch) == size {
				if err := send(); err != nil {
					return err
				}
			}
		}
		if len(batch) > 0 {
			return send()
		}
		return nil
	}

	if opts.OneTransaction {
		// The iterator cannot be replayed, so the load is not retried.
		err = r.InTx(ctx, TxOptions{MaxAttempts: 1}, func(tx *Repo) error {
			return load(func(batch func(tx *Repo) error) error { return batch(tx) })
		})
		if err != nil {
			return BulkResult{}, err
		}
		return done, nil
	}
	// A batch is in memory, so a batch that loses a race is retried whole.
	err = load(func(batch func(tx *Repo) error) error { return r.InTx(ctx, TxOptions{}, batch) })
	return done, err
}

// batchEmails finds an email given twice within one batch (in any letter
// case): the database would refuse the batch, without saying which rows.
type batchEmails struct {
	size  int64
	first map[string]int64 // emailKey -> position of its row
}

func newBatchEmails(size int) batchEmails {
	return batchEmails{size: int64(size), first: make(map[string]int64, size)}
}

// row is called before the emails of each row: a row that starts a batch
// forgets the emails of the batch before.
func (b *batchEmails) row(position int64) {
	if (position-1)%b.size == 0 {
		clear(b.first)
	}
}

func (b *batchEmails) add(position int64, email string) error {
	key := emailKey(email)
	if first, ok := b.first[key]; ok {
		return fmt.Errorf("%w: email %q also in row %d", ErrConflict, email, first)
	}
	b.first[key] = position
	return nil
}

// copyLine matches the context PostgreSQL gives an error raised during COPY.
var copyLine = regexp.MustCompile(`COPY \w+, line (\d+)`)

// copyError turns an error from a COPY of table into a RowError naming the
// input row: owners[i] is the index in the batch of the input row that line
// i+1 of the COPY came from (nil: line i+1 came from row i).
func copyError(ctx context.Context, err error, table string, first int64, owners []int32) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		// Not about a row: the context ended, or the connection broke.
		return fmt.Errorf("copy %s: %w", table, dbError(ctx, err))
	}
	rowErr := &RowError{Table: table, Err: dbError(ctx, err)}
	m := copyLine.FindStringSubmatch(pgErr.Where)
	if m == nil {
		return rowErr
	}
	line, _ := strconv.Atoi(m[1])
	idx := line - 1
	if owners != nil && idx >= 0 && idx < len(owners) {
		idx = int(owners[idx])
	}
	rowErr.Position = first + int64(idx)
	return rowErr
}

// missingKeyDetail finds the value in a foreign key violation's detail:
// `Key (user_id)=(42) is not present in table "users".`
var missingKeyDetail = regexp.MustCompile(`\)=\((.*)\) is not present in table`)

func missingKey(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return "", false
	}
	m := missingKeyDetail.FindStringSubmatch(pgErr.Detail)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Reset deletes every row of every table and restarts the ids at 1, as a
// seed from scratch wants. It takes an exclusive lock on the tables for the
// time it runs.
func (r *Repo) Reset(ctx context.Context) error {
	defer wrote(ctx)
	err := r.inTx(ctx, func(q *dbgen.Queries) error {
		if err := q.TruncateAll(ctx); err != nil {
			return dbError(ctx, err)
		}
		return dbError(ctx, q.RestartIDs(ctx))
	})
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	return nil
}
