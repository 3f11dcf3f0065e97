package repo

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// handle is what a Repo runs statements on: its pool or its transaction.
type handle interface {
	dbgen.DBTX
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// pipelined runs body, whose statements are known before any of them runs
// (their arguments do not come from each other's results), in one round trip.
// body runs twice: first on a recorder, which queues each statement it is
// given and answers with no rows, then, once the queue has been sent as one
// batch, on the batch's results, statement by statement in the same order.
// So body must call the same statements with the same arguments whatever the
// results, and look at the results only after its last statement.
// On a pool, the batch begins and commits a transaction around body's
// statements: a batch's implicit transaction is all or nothing on one server,
// but Citus runs each statement of one as a transaction of its own on the
// workers (its router statements then commit one by one, and a failed one
// leaves the others written).
func pipelined[T any](ctx context.Context, db handle, body func(q *dbgen.Queries) (T, error)) (T, error) {
	return pipeline(ctx, db, framing{tx: writeTx}, body)
}

// pipelinedAlone is pipelined for a body whose failure must not abort the
// caller's transaction: inside one, a savepoint goes around the batch, in
// the same round trip, and a failure rolls back to it (one round trip more).
func pipelinedAlone[T any](ctx context.Context, db handle, body func(q *dbgen.Queries) (T, error)) (T, error) {
	return pipeline(ctx, db, framing{tx: writeTx, savepoint: true}, body)
}

// readPipelined is pipelined for reads: on a pool, the batch also begins and
// commits a REPEATABLE READ, READ ONLY transaction around body's statements,
// so that they all see one snapshot. Without it each would take its own (in
// READ COMMITTED, the default, even within the batch's one implicit
// transaction), and a write committed between the two statements of a
// select-in load would show in the children but not in the parents. Inside a
// transaction, the transaction's isolation level decides.
func readPipelined[T any](ctx context.Context, db handle, body func(q *dbgen.Queries) (T, error)) (T, error) {
	return pipeline(ctx, db, framing{tx: snapshotTx}, body)
}

// The transactions pipelined and readPipelined wrap a batch in, on a pool.
var (
	writeTx    = pgx.TxOptions{}
	snapshotTx = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
)

// framing is what goes around a pipeline's batch: on a pool a transaction,
// inside one a savepoint if asked for.
type framing struct {
	tx        pgx.TxOptions
	savepoint bool
}

// pipelineSavepoint is pipelinedAlone's savepoint: one at a time, and
// another name than a nested InTx's (savepoint.go).
const pipelineSavepoint = "inkwell_pipeline"

func pipeline[T any](ctx context.Context, db handle, f framing, body func(q *dbgen.Queries) (T, error)) (T, error) {
	return pipelineSQL(ctx, db, f, func(db dbgen.DBTX) (T, error) { return body(newQueries(db)) })
}

// pipelineSQL is pipeline for a body that sends its own statements on db
// (the keyset lists', built in Go): the same rules.
func pipelineSQL[T any](ctx context.Context, db handle, f framing, body func(db dbgen.DBTX) (T, error)) (T, error) {
	var zero T
	rec := &recorder{}
	if _, err := body(rec); err != nil {
		return zero, fmt.Errorf("pipeline: recording: %w", err)
	}
	b := &pgx.Batch{}
	pool, onPool := db.(*pgxpool.Pool)
	framed := onPool || f.savepoint
	switch {
	case onPool:
		b.BeginTx(f.tx)
	case f.savepoint:
		b.Queue("SAVEPOINT " + pipelineSavepoint)
	}
	for _, s := range rec.queued {
		b.Queue(s.sql, s.args...)
	}
	rp := &replayer{queued: rec.queued, begin: framed}
	// A write transaction of the pipeline's own commits: whether it did must
	// be known, or reported as unknown (ErrCommitUnknown).
	commits := onPool && f.tx.AccessMode != pgx.ReadOnly
	sendCtx := ctx
	if !onPool {
		if f.savepoint {
			b.Queue("RELEASE SAVEPOINT " + pipelineSavepoint)
		}
		rp.br = db.SendBatch(ctx, b)
	} else {
		b.Queue("COMMIT")
		if commits {
			// The batch ends in COMMIT: it is sent so that ctx ending does
			// not lose its answer (see commit), and never once ctx is done.
			if err := ctx.Err(); err != nil {
				return zero, err
			}
			var stop func()
			sendCtx, stop = commitContext(ctx)
			defer stop()
		}
		conn, err := pool.Acquire(ctx)
		if err != nil { // body's statements report it, as pool.SendBatch's would
			rp.br = pgx.FailedBatchResults(b, err)
			commits = false // nothing was sent
		} else {
			defer func() {
				// A failed statement leaves the transaction open, aborted:
				// end it, even if ctx is done, rather than lose the connection.
				if conn.Conn().PgConn().TxStatus() != 'I' {
					_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
				}
				conn.Release()
			}()
			rp.br = conn.SendBatch(sendCtx, b)
		}
	}
	v, err := body(rp)
	if err == nil && framed {
		if _, cerr := rp.br.Exec(); cerr != nil { // COMMIT or RELEASE
			err = fmt.Errorf("commit: %w", dbError(ctx, cerr))
		}
	}
	// Close reads what body left unread (it stopped at an error).
	if cerr := rp.br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil && commits {
		err = ownTxError{commitError(ctx, err)}
	}
	if err != nil {
		if f.savepoint && !onPool {
			// The caller's transaction goes on without what the batch did
			// (if the connection still works: else its next statement says so).
			_, _ = db.Exec(context.WithoutCancel(ctx), "ROLLBACK TO SAVEPOINT "+pipelineSavepoint+"; RELEASE SAVEPOINT "+pipelineSavepoint)
		}
		return zero, err
	}
	return v, nil
}

type queued struct {
	sql  string
	args []any
}

// recorder queues statements; they return no rows and no error.
type recorder struct{ queued []queued }

func (r *recorder) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	r.queued = append(r.queued, queued{sql, args})
	return pgconn.CommandTag{}, nil
}

func (r *recorder) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	r.queued = append(r.queued, queued{sql, args})
	return noRows{}, nil
}

func (r *recorder) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	r.queued = append(r.queued, queued{sql, args})
	return noRows{}
}

func (r *recorder) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errNotPipelined
}

// errNotPipelined: body did not call the statements it was recorded with (a
// bug of the method, caught by its tests).
var errNotPipelined = errors.New("statement not in the pipeline it was recorded for")

// replayer hands out the batch's results in the order recorded.
type replayer struct {
	br     pgx.BatchResults
	begin  bool  // the batch's first result is its BEGIN's, not yet read
	failed error // BEGIN's error, every statement's
	queued []queued
	next   int
}

func (r *replayer) take(sql string, args []any) error {
	if r.begin {
		r.begin = false
		if _, err := r.br.Exec(); err != nil {
			r.failed = err
		}
	}
	if r.failed != nil {
		return r.failed
	}
	if r.next >= len(r.queued) || r.queued[r.next].sql != sql || !reflect.DeepEqual(r.queued[r.next].args, args) {
		return errNotPipelined
	}
	r.next++
	return nil
}

func (r *replayer) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := r.take(sql, args); err != nil {
		return pgconn.CommandTag{}, err
	}
	return r.br.Exec()
}

func (r *replayer) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := r.take(sql, args); err != nil {
		return noRows{err: err}, err
	}
	return r.br.Query()
}

func (r *replayer) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	if err := r.take(sql, args); err != nil {
		return noRows{err: err}
	}
	return r.br.QueryRow()
}

func (r *replayer) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errNotPipelined
}

// noRows is an empty result: a recorded statement's, or a failed one's (err).
type noRows struct{ err error }

func (noRows) Close()                                       {}
func (n noRows) Err() error                                 { return n.err }
func (noRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (noRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (noRows) Next() bool                                   { return false }
func (n noRows) Scan(...any) error                          { return n.err }
func (n noRows) Values() ([]any, error)                     { return nil, n.err }
func (noRows) RawValues() [][]byte                          { return nil }
func (noRows) Conn() *pgx.Conn                              { return nil }
func (noRows) TypeMap() *pgtype.Map                         { return nil }
