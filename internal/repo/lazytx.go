package repo

import (
	"cmp"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lazyTx is a transaction whose BEGIN travels with its first statement, in
// one pgx batch (Batch.BeginTx), saving the round trip pgx's BeginTx spends
// on BEGIN alone; a transaction that sends nothing costs nothing. It takes a
// connection from the pool at its first statement and gives it back when it
// ends. Once begun it is pgx's own transaction.
type lazyTx struct {
	pool   *pgxpool.Pool
	opts   pgx.TxOptions
	conn   *pgxpool.Conn
	tx     pgx.Tx // nil until begun
	closed bool
	span   txSpan // its statements' parent (InTx's span), zero when not traced
}

func (l *lazyTx) traced() txSpan { return l.span }

// begin sends BEGIN, with b's statements after it when b is not nil, and
// returns the batch's results past BEGIN's.
func (l *lazyTx) begin(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	if l.closed {
		return nil, pgx.ErrTxClosed
	}
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	batch := &pgx.Batch{}
	batch.BeginTx(l.opts)
	if b != nil {
		batch.QueuedQueries = append(batch.QueuedQueries, b.QueuedQueries...)
	}
	br := conn.SendBatch(ctx, batch)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		conn.Release()
		l.closed = true
		return nil, fmt.Errorf("begin: %w", err)
	}
	l.conn, l.tx = conn, br.(interface{ Tx() pgx.Tx }).Tx()
	return br, nil
}

// started begins the transaction alone if it has not begun, for the calls
// that cannot travel in a batch.
func (l *lazyTx) started(ctx context.Context) error {
	if l.tx != nil {
		return nil
	}
	br, err := l.begin(ctx, nil)
	if err != nil {
		return err
	}
	return br.Close()
}

func (l *lazyTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	ctx = l.span.context(ctx)
	if l.tx != nil {
		return l.tx.Exec(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br, err := l.begin(ctx, b)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	return tag, cmp.Or(err, br.Close())
}

func (l *lazyTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx = l.span.context(ctx)
	if l.tx != nil {
		return l.tx.Query(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br, err := l.begin(ctx, b)
	if err != nil {
		return noRows{err: err}, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return rows, err
	}
	return batchRows{Rows: rows, br: br}, nil
}

func (l *lazyTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	ctx = l.span.context(ctx)
	if l.tx != nil {
		return l.tx.QueryRow(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br, err := l.begin(ctx, b)
	if err != nil {
		return noRows{err: err}
	}
	return batchRow{row: br.QueryRow(), br: br}
}

func (l *lazyTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	ctx = l.span.context(ctx)
	if l.tx != nil {
		return l.tx.SendBatch(ctx, b)
	}
	br, err := l.begin(ctx, b)
	if err != nil {
		return pgx.FailedBatchResults(b, err)
	}
	return br
}

func (l *lazyTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	ctx = l.span.context(ctx)
	if err := l.started(ctx); err != nil {
		return 0, err
	}
	return l.tx.CopyFrom(ctx, table, columns, src)
}

func (l *lazyTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	ctx = l.span.context(ctx)
	if err := l.started(ctx); err != nil {
		return nil, err
	}
	return l.tx.Prepare(ctx, name, sql)
}

func (l *lazyTx) Begin(ctx context.Context) (pgx.Tx, error) {
	ctx = l.span.context(ctx)
	if err := l.started(ctx); err != nil {
		return nil, err
	}
	return l.tx.Begin(ctx)
}

// LargeObjects is not used by the repository; it begins the transaction
// without a context of its own.
func (l *lazyTx) LargeObjects() pgx.LargeObjects {
	if err := l.started(context.Background()); err != nil {
		return pgx.LargeObjects{}
	}
	return l.tx.LargeObjects()
}

// Conn is nil until the transaction has begun.
func (l *lazyTx) Conn() *pgx.Conn {
	if l.tx == nil {
		return nil
	}
	return l.tx.Conn()
}

// Commit commits, or does nothing when nothing was sent. Its errors are
// mapped (see commit): once sent, the COMMIT is not interrupted by ctx
// ending unless the server takes commitGrace more to answer, and an answer
// lost is ErrCommitUnknown, never a failure. A ctx already done rolls back.
func (l *lazyTx) Commit(ctx context.Context) error {
	return l.end(func(tx pgx.Tx) error {
		if err := ctx.Err(); err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			return err
		}
		return commit(ctx, tx.Commit)
	})
}

// Rollback rolls back, or does nothing when nothing was sent.
func (l *lazyTx) Rollback(ctx context.Context) error {
	return l.end(func(tx pgx.Tx) error { return tx.Rollback(ctx) })
}

func (l *lazyTx) end(finish func(pgx.Tx) error) error {
	if l.closed {
		return pgx.ErrTxClosed
	}
	l.closed = true
	if l.tx == nil {
		return nil
	}
	err := finish(l.tx)
	l.conn.Release() // a connection left in a transaction is closed, not reused
	return err
}

// batchRows are the first statement's rows; closing them ends the batch.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

func (r batchRows) Close() {
	r.Rows.Close()
	_ = r.br.Close()
}

// batchRow is the first statement's row; scanning it ends the batch.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	return cmp.Or(err, r.br.Close())
}
