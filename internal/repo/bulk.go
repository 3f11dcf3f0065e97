package repo

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultBatchSize is how many input rows (users) a bulk load sends per batch
// when BulkOptions does not say.
const DefaultBatchSize = 10_000

// MaxBatchSize is the largest BatchSize a bulk load accepts; a larger one
// fails the load with ErrInvalid before anything is read or sent. A batch is
// one transaction held in memory until it commits: past this size it only
// costs memory, lock time and work lost to a failure.
const MaxBatchSize = 1_000_000

// BulkOptions shape a bulk load.
type BulkOptions struct {
	// BatchSize is the number of input rows per batch; 0 means
	// DefaultBatchSize. Negative or above MaxBatchSize fails the load with
	// ErrInvalid before anything is sent. Memory grows with the rows of a
	// batch as they arrive, not with the load, nor with BatchSize itself.
	BatchSize int
	// OneTransaction makes the whole load one transaction: all of it or none.
	// By default each batch commits on its own, so a failure keeps the
	// batches before it and loses only the batch it happened in.
	OneTransaction bool
	// Progress, if set, is called after each batch with the totals so far:
	// committed rows, or, with OneTransaction, rows sent but not yet committed.
	Progress func(BulkResult)
	// Tables declares the user's own tables whose rows come with the
	// graphs (UserGraph.Rows) of BulkInsertGraphs; see ExtraTable.
	Tables []ExtraTable
}

// batchSize is the one place a bulk load's batch size is checked: every bulk
// method asks it before reading a row.
func (o BulkOptions) batchSize() (int, error) {
	switch {
	case o.BatchSize == 0:
		return DefaultBatchSize, nil
	case o.BatchSize < 0:
		return 0, invalid("batch size", strconv.Itoa(o.BatchSize), "must be positive")
	case o.BatchSize > MaxBatchSize:
		return 0, invalid("batch size", strconv.Itoa(o.BatchSize),
			"must be at most MaxBatchSize ("+strconv.Itoa(MaxBatchSize)+")")
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
	Extra     int64 // rows of the declared tables (ExtraTable), all together
	Updated   int64 // users an upsert changed
	Unchanged int64 // users an upsert found as they were
}

// Rows is the number of rows written to all tables.
func (r BulkResult) Rows() int64 {
	return r.Users + r.Addresses + r.Profiles + r.Posts + r.PostTags + r.Extra
}

func (r *BulkResult) add(o BulkResult) {
	r.Batches += o.Batches
	r.Users += o.Users
	r.Addresses += o.Addresses
	r.Profiles += o.Profiles
	r.Posts += o.Posts
	r.PostTags += o.PostTags
	r.Extra += o.Extra
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
		// Grown by append as rows arrive, never made with cap size: a big
		// BatchSize with few rows costs only the rows.
		var batch []T
		var position int64
		send := func() error {
			first := position - int64(len(batch)) + 1
			var sent BulkResult
			err := run(func(tx *Repo) error {
				var err error
				sent, err = flush(ctx, tx, first, batch)
				return err
			})
			if err != nil {
				return err
			}
			sent.Batches = 1
			done.add(sent)
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

// newBatchEmails starts an empty map that grows with the emails seen, not
// with size (see batches).
func newBatchEmails(size int) batchEmails {
	return batchEmails{size: int64(size), first: map[string]int64{}}
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
		return fmt.Errorf("%w: email %q also in row %d", ErrConflict, short(email), first)
	}
	b.first[key] = position
	return nil
}

// copyError turns an error from a COPY of table into a RowError naming the
// input row: owners[i] is the index in the batch of the input row that line
// i+1 of the COPY came from (nil: line i+1 came from row i). The sentinel
// comes from the SQLSTATE (dbError) and the table from the caller; when the
// line is not known, Position is 0.
func copyError(ctx context.Context, err error, table string, first int64, owners []int32) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		// Not about a row: the context ended, or the connection broke.
		return fmt.Errorf("copy %s: %w", table, dbError(ctx, err))
	}
	rowErr := &RowError{Table: table, Err: dbError(ctx, err)}
	line := copyLine(pgErr.Where, table)
	if line == 0 {
		return rowErr
	}
	idx := line - 1
	if owners != nil {
		if idx >= int64(len(owners)) {
			return rowErr // not a line we sent: say nothing rather than a wrong row
		}
		idx = int64(owners[idx])
	}
	rowErr.Position = first + idx
	return rowErr
}

// copyKeyError is copyError for a COPY whose rows have keys: key(i) is row
// i's of n, as a violation's detail shows it ("(user_id)=(42)"). When the
// line is not known (foreign keys are checked at the end of a COPY; Citus
// relays no line at all), the row is the first whose key the detail names
// (keyRow), mapped to its input row through owners as copyError does.
func copyKeyError(ctx context.Context, err error, table string, first int64, owners []int32, n int, key func(i int) string) error {
	copyErr := copyError(ctx, err, table, first, owners)
	var rowErr *RowError
	if !errors.As(copyErr, &rowErr) || rowErr.Position != 0 {
		return copyErr
	}
	i := keyRow(err, n, key)
	if i < 0 {
		return copyErr
	}
	if owners != nil {
		i = int(owners[i])
	}
	rowErr.Position = first + int64(i)
	return copyErr
}

// copyLine returns the line of a COPY into table that an error was raised
// at, or 0 when where does not say. No field of the error has it: only the
// Where context does, worded in the server's lc_messages language ("COPY
// posts, line 3", "COPY posts, Zeile 3", "postsのCOPY、行 3", "posts 복사,
// 3번째 줄"). In every translation PostgreSQL 15 ships (de es fr it ja ka ko
// ru sv uk; zh_CN keeps the English), the number is the first one after the
// table name, so it is read that way rather than by the English words; a
// wording without that shape gives 0, and the error keeps its sentinel and
// table.
func copyLine(where, table string) int64 {
	// COPY is the statement itself, so its context is the outermost: the
	// last line (a trigger's or function's would come before it).
	ctxLine := where[strings.LastIndexByte(where, '\n')+1:]
	for i := 0; ; {
		j := strings.Index(ctxLine[i:], table)
		if j < 0 {
			return 0
		}
		start, end := i+j, i+j+len(table)
		i = end
		// The table's name as a word, not part of a longer name.
		if start > 0 && isNameByte(ctxLine[start-1]) || end < len(ctxLine) && isNameByte(ctxLine[end]) {
			continue
		}
		rest := ctxLine[end:]
		from := strings.IndexFunc(rest, isDigit)
		if from < 0 {
			return 0
		}
		rest = rest[from:]
		if to := strings.IndexFunc(rest, func(r rune) bool { return !isDigit(r) }); to >= 0 {
			rest = rest[:to]
		}
		line, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || line < 1 {
			return 0
		}
		return line
	}
}

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

// isNameByte: ASCII only, as a translation may write a letter right after
// the name ("postsのCOPY").
func isNameByte(b byte) bool {
	return b == '_' || b == '$' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// keyRow returns the index of the first of n rows that a foreign key or
// unique violation is about, or -1. The error names the constraint (a
// field), but the offending value only in its detail, worded in the server's
// lc_messages language: "Key (user_id)=(42) is not present in table
// "users"." or "Key (email_key)=(ann@example.com) already exists." Every
// translation that shows the value keeps the "(%s)=(%s)" of the key, so
// keyRow looks there for the key of each row, as key(i) gives it
// ("(user_id)=(42)"), not for English words. A server that does not show the
// value (the Georgian translation does not) gives -1. On Citus, which
// relays a worker's violation in a COPY as XX000 with the worker's detail,
// the violation is recognized as dbError recognizes it.
func keyRow(err error, n int, key func(i int) string) int {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return -1
	}
	if pgErr = fromCitus(pgErr); pgErr.Code != pgerrcode.ForeignKeyViolation && pgErr.Code != pgerrcode.UniqueViolation {
		return -1
	}
	for i := range n {
		if strings.Contains(pgErr.Detail, key(i)) {
			return i
		}
	}
	return -1
}
