package repo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

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

// TxOptions shape a transaction. The zero value is a read-write READ COMMITTED
// transaction retried up to DefaultMaxAttempts times.
type TxOptions struct {
	Isolation pgx.TxIsoLevel // ReadCommitted (default), RepeatableRead or Serializable
	ReadOnly  bool
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

// InTx runs fn in one transaction and commits if fn returns nil. If fn returns
// an error or panics, the transaction is rolled back (the panic goes on).
// Everything fn does through tx is part of the transaction, all or nothing.
//
// fn may be run more than once: a transaction that fails with a serialization
// failure or deadlock is retried with backoff, up to opts' bound, after which
// InTx returns an error matching ErrSerialization. So fn must not have effects
// outside the database, or must tolerate repeating them.
//
// Called on a transaction's Repo, InTx nests: it opens a savepoint, and an
// error rolls back to it, undoing only what fn did; opts are then ignored
// (retries happen at the outermost transaction).
//
// tx is valid only until InTx returns: using it later fails with ErrTxDone.
func (r *Repo) InTx(ctx context.Context, opts TxOptions, fn func(tx *Repo) error) error {
	if r.tx != nil {
		return r.savepoint(ctx, fn)
	}
	for attempt := 1; ; attempt++ {
		err := r.runTx(ctx, opts, fn)
		if err == nil && !opts.ReadOnly {
			wrote(ctx)
		}
		if !errors.Is(err, ErrSerialization) {
			return err
		}
		if attempt >= opts.attempts() {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		if werr := sleep(ctx, backoff(attempt)); werr != nil {
			return errors.Join(err, werr)
		}
	}
}

func (r *Repo) runTx(ctx context.Context, opts TxOptions, fn func(tx *Repo) error) error {
	mode := pgx.ReadWrite
	if opts.ReadOnly {
		mode = pgx.ReadOnly
	}
	tx, err := r.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: opts.Isolation, AccessMode: mode})
	if err != nil {
		return fmt.Errorf("begin: %w", dbError(ctx, err))
	}
	return finish(ctx, tx, fn)
}

func (r *Repo) savepoint(ctx context.Context, fn func(tx *Repo) error) error {
	sp, err := r.tx.Begin(ctx)
	if err != nil {
		return fmt.Errorf("savepoint: %w", dbError(ctx, err))
	}
	return finish(ctx, sp, fn)
}

// finish runs fn on tx, then commits or rolls back. Rollback runs even when
// ctx is done, so that the connection goes back to the pool clean.
func finish(ctx context.Context, tx pgx.Tx, fn func(tx *Repo) error) error {
	rollback := func() error { return tx.Rollback(context.WithoutCancel(ctx)) }
	defer func() {
		if p := recover(); p != nil {
			_ = rollback()
			panic(p)
		}
	}()
	if err := fn(&Repo{tx: tx}); err != nil {
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
