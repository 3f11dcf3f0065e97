package repo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// Isolation levels for TxOptions.
const (
	ReadCommitted  = pgx.ReadCommitted
	RepeatableRead = pgx.RepeatableRead
	Serializable   = pgx.Serializable
)

// DefaultMaxAttempts is how many times InTx runs a transaction that keeps
// failing with a serialization failure or deadlock, when TxOptions does not say.
const DefaultMaxAttempts = 4

// TxOptions shape a transaction. The zero value is a read-write transaction
// at the server's default isolation level (READ COMMITTED unless the server's
// default_transaction_isolation says otherwise), retried up to
// DefaultMaxAttempts times.
type TxOptions struct {
	// Isolation is ReadCommitted, RepeatableRead, Serializable, or empty for
	// the server's default. Anything else is refused with ErrInvalid before
	// anything is sent.
	Isolation pgx.TxIsoLevel
	// ReadOnly makes the transaction READ ONLY: a write in it fails with
	// ErrReadOnly.
	ReadOnly bool
	// MaxAttempts bounds the runs of a transaction that fails with a
	// serialization failure (SQLSTATE 40001) or deadlock (40P01). 1 turns
	// retries off; 0 means DefaultMaxAttempts.
	MaxAttempts int
}

func (o TxOptions) attempts() int {
	if o.MaxAttempts > 0 {
		return o.MaxAttempts
	}
	return DefaultMaxAttempts
}

// pgx checks o and converts it. pgx splices IsoLevel, a string, into the
// BEGIN statement as it is: only the known levels may reach it.
func (o TxOptions) pgx() (pgx.TxOptions, error) {
	switch o.Isolation {
	case "", ReadCommitted, RepeatableRead, Serializable:
	default:
		return pgx.TxOptions{}, invalid("isolation level", string(o.Isolation),
			"must be ReadCommitted, RepeatableRead, Serializable or empty")
	}
	mode := pgx.ReadWrite
	if o.ReadOnly {
		mode = pgx.ReadOnly
	}
	return pgx.TxOptions{IsoLevel: o.Isolation, AccessMode: mode}, nil
}

// InTx runs fn in one transaction and commits if fn returns nil. However else
// fn ends (an error, a panic, runtime.Goexit as in t.FailNow), the transaction
// is rolled back and its connection goes back to the pool; a panic goes on.
// Everything fn does through tx is part of the transaction, all or nothing.
//
// fn may be run more than once: a transaction that fails with a serialization
// failure or deadlock is retried with backoff, up to opts' bound, after which
// InTx returns an error matching ErrSerialization. So fn must not have effects
// outside the database, or must tolerate repeating them.
//
// Called on a transaction's Repo, InTx nests: it opens a savepoint, and
// however the nested fn fails (an error, a statement that failed even if fn
// swallowed its error, a panic, Goexit), the transaction is rolled back to
// the savepoint, undoing only what fn did, and the outer transaction goes on.
// A nested fn that returns nil after a failed statement makes InTx return
// ErrTxAborted. opts are then checked but otherwise ignored (retries happen
// at the outermost transaction).
//
// Inside fn, use tx, not the Repo InTx was called on: a call on the outer
// Repo runs outside the transaction, on a second connection of the pool, and
// when none is free it waits until its context ends (a deadlock if the pool
// has one connection, or all are held by such transactions).
//
// Errors: ErrInvalid for opts that are not valid (nothing is sent);
// otherwise what fn returned, or the failure of BEGIN or COMMIT mapped like
// every error of this package. tx is valid only until InTx returns: using it
// later fails with ErrTxDone.
func (r *Repo) InTx(ctx context.Context, opts TxOptions, fn func(tx *Repo) error) error {
	txOpts, err := opts.pgx()
	if err != nil {
		return err
	}
	if r.tel == nil {
		_, err := r.runInTx(ctx, opts, txOpts, fn)
		return err
	}
	if t, ok := r.tx.(txTraced); ok { // nested: a child of its transaction's span
		ctx = trace.ContextWithSpan(ctx, t.traced().span)
	}
	ctx, span := r.tel.start(ctx, "InTx", txAttrs(txOpts)...)
	defer span.End() // also when fn panics (runInTx rolls back, then re-panics)
	attempts, err := r.runInTx(ctx, opts, txOpts, fn)
	span.SetAttributes(attemptsAttr(attempts))
	if err != nil {
		spanFailed(ctx, span, err)
	}
	return err
}

// runInTx is InTx once opts are checked (and its span begun); it also
// returns how many times it ran fn.
func (r *Repo) runInTx(ctx context.Context, opts TxOptions, txOpts pgx.TxOptions, fn func(tx *Repo) error) (int, error) {
	if r.tx != nil {
		return 1, r.savepoint(ctx, fn)
	}
	if !opts.ReadOnly {
		// Even when it fails: a COMMIT whose answer was lost may have
		// committed, and reads that follow must not miss it.
		defer wrote(ctx)
	}
	for attempt := 1; ; attempt++ {
		err := r.runTx(ctx, txOpts, fn)
		if !errors.Is(err, ErrSerialization) {
			return attempt, err
		}
		if attempt >= opts.attempts() {
			return attempt, fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		if werr := sleep(ctx, backoff(attempt)); werr != nil {
			return attempt, errors.Join(err, werr)
		}
	}
}

// runTx runs fn in a transaction whose BEGIN travels with its first
// statement (lazyTx): a failed BEGIN is the first statement's error.
func (r *Repo) runTx(ctx context.Context, opts pgx.TxOptions, fn func(tx *Repo) error) error {
	return finish(ctx, &lazyTx{pool: r.pool, opts: opts, span: spanned(ctx, r.tel)}, r, fn)
}

func (r *Repo) savepoint(ctx context.Context, fn func(tx *Repo) error) error {
	span := spanned(ctx, r.tel)
	sp, err := beginSavepoint(span.innerContext(ctx), r.tx)
	if err != nil {
		return fmt.Errorf("savepoint: %w", dbError(ctx, err))
	}
	sp.span = span
	return finish(ctx, sp, r, fn)
}

// finish runs fn on tx, a transaction of r (whose server and telemetry
// tx's Repo shares), then commits (or releases the savepoint) or rolls
// back. Whatever way fn ends, tx ends too: a deferred rollback covers a panic
// and runtime.Goexit, where recover() says nothing. Rollback runs even when
// ctx is done, so that the connection goes back to the pool clean.
func finish(ctx context.Context, tx pgx.Tx, r *Repo, fn func(tx *Repo) error) error {
	rollback := func() error { return tx.Rollback(context.WithoutCancel(ctx)) }
	returned := false
	defer func() {
		if !returned { // a panic (which goes on) or runtime.Goexit
			_ = rollback()
		}
	}()
	err := fn(&Repo{tx: tx, server: r.server, tel: r.tel})
	returned = true
	if err != nil {
		if rbErr := rollback(); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", dbError(ctx, err))
	}
	return nil
}

// inTx runs a multi-statement write atomically: in a new transaction on the
// pool, or in a savepoint of the transaction r already is. Like writing, it
// records the write for read-your-writes whatever the outcome.
func (r *Repo) inTx(ctx context.Context, fn func(q *dbgen.Queries) error) error {
	defer wrote(ctx)
	return r.InTx(ctx, TxOptions{}, func(tx *Repo) error { return fn(tx.queries()) })
}

// backoff grows exponentially from 5ms with full jitter, capped at 500ms.
func backoff(attempt int) time.Duration {
	ceiling := min(5*time.Millisecond<<attempt, 500*time.Millisecond)
	return rand.N(ceiling) + time.Millisecond
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
