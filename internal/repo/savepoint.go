package repo

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// savepointTx is a nested transaction: a savepoint of the transaction root.
//
// pgx has one (Begin on a Tx), but when its Commit (RELEASE SAVEPOINT) fails,
// as it does after a statement in the savepoint failed, it marks itself
// closed without rolling back to the savepoint, and does not say the
// savepoint's name: the whole transaction then stays aborted (25P02). This
// one knows its name, so that it can always roll back to it.
type savepointTx struct {
	root   pgx.Tx // the outermost transaction
	name   string
	depth  int
	closed bool
	span   txSpan // its statements' parent (the nested InTx's span), zero when not traced
}

func (sp *savepointTx) traced() txSpan { return sp.span }

// beginSavepoint opens a savepoint in parent, a transaction or a savepoint.
// A savepoint's name is its depth: only one is open at each depth, since a
// nested one ends before its parent goes on.
func beginSavepoint(ctx context.Context, parent pgx.Tx) (*savepointTx, error) {
	root, depth := parent, 1
	if sp, ok := parent.(*savepointTx); ok {
		if sp.closed {
			return nil, pgx.ErrTxClosed
		}
		root, depth = sp.root, sp.depth+1
	}
	sp := &savepointTx{root: root, name: "inkwell_sp_" + strconv.Itoa(depth), depth: depth}
	if _, err := root.Exec(ctx, "SAVEPOINT "+sp.name); err != nil {
		return nil, err
	}
	return sp, nil
}

// Begin opens a savepoint inside this one.
func (sp *savepointTx) Begin(ctx context.Context) (pgx.Tx, error) {
	return beginSavepoint(ctx, sp)
}

// Commit releases the savepoint. If that fails (a statement in it failed, or
// ctx ended), it rolls back to the savepoint instead, so that the enclosing
// transaction stays usable, and returns RELEASE's error.
func (sp *savepointTx) Commit(ctx context.Context) error {
	ctx = sp.span.innerContext(ctx)
	if sp.closed {
		return pgx.ErrTxClosed
	}
	_, err := sp.root.Exec(ctx, "RELEASE SAVEPOINT "+sp.name)
	if err != nil {
		_ = sp.Rollback(context.WithoutCancel(ctx))
	}
	sp.closed = true
	return err
}

// Rollback undoes what was done since the savepoint, and releases it, in one
// round trip: a savepoint left defined would pile up in a long transaction.
func (sp *savepointTx) Rollback(ctx context.Context) error {
	ctx = sp.span.innerContext(ctx)
	if sp.closed {
		return pgx.ErrTxClosed
	}
	sp.closed = true
	_, err := sp.root.Exec(ctx, "ROLLBACK TO SAVEPOINT "+sp.name+"; RELEASE SAVEPOINT "+sp.name)
	return err
}

func (sp *savepointTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	ctx = sp.span.innerContext(ctx)
	if sp.closed {
		return 0, pgx.ErrTxClosed
	}
	return sp.root.CopyFrom(ctx, table, columns, src)
}

func (sp *savepointTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	ctx = sp.span.innerContext(ctx)
	if sp.closed {
		return pgx.FailedBatchResults(b, pgx.ErrTxClosed)
	}
	return sp.root.SendBatch(ctx, b)
}

func (sp *savepointTx) LargeObjects() pgx.LargeObjects { return sp.root.LargeObjects() }

func (sp *savepointTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	ctx = sp.span.innerContext(ctx)
	if sp.closed {
		return nil, pgx.ErrTxClosed
	}
	return sp.root.Prepare(ctx, name, sql)
}

func (sp *savepointTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	ctx = sp.span.innerContext(ctx)
	if sp.closed {
		return pgconn.CommandTag{}, pgx.ErrTxClosed
	}
	return sp.root.Exec(ctx, sql, args...)
}

func (sp *savepointTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx = sp.span.innerContext(ctx)
	if sp.closed {
		return closedRows{}, pgx.ErrTxClosed
	}
	return sp.root.Query(ctx, sql, args...)
}

func (sp *savepointTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	ctx = sp.span.innerContext(ctx)
	if sp.closed {
		return closedRows{}
	}
	return sp.root.QueryRow(ctx, sql, args...)
}

func (sp *savepointTx) Conn() *pgx.Conn { return sp.root.Conn() }

// closedRows is the result of a query on a savepoint that has ended.
type closedRows struct{}

func (closedRows) Close()                                       {}
func (closedRows) Err() error                                   { return pgx.ErrTxClosed }
func (closedRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (closedRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (closedRows) Next() bool                                   { return false }
func (closedRows) Scan(...any) error                            { return pgx.ErrTxClosed }
func (closedRows) Values() ([]any, error)                       { return nil, pgx.ErrTxClosed }
func (closedRows) RawValues() [][]byte                          { return nil }
func (closedRows) Conn() *pgx.Conn                              { return nil }
func (closedRows) TypeMap() *pgtype.Map                         { return nil }
