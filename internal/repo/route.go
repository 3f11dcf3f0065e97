package repo

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// The routing core: where each call of a Repo method runs. Reads go to a
// replica fresh enough for the caller (replicas.go picks it) or the primary,
// writes to the primary, and everything inside a transaction to the
// transaction; read-your-writes marks a context with its caller's last write.

// WithReadYourWrites marks ctx so that, once a write has been made with it,
// reads made with it are served only by a replica that has replayed that
// write, or else by the primary. Use one such context per caller (a request,
// a user session), not one for the whole program.
func WithReadYourWrites(ctx context.Context) context.Context {
	if _, ok := ctx.Value(writesKey{}).(*lastWrite); ok {
		return ctx
	}
	return context.WithValue(ctx, writesKey{}, &lastWrite{})
}

type writesKey struct{}

// lastWrite is when the caller's latest write returned (Unix nanoseconds).
type lastWrite struct{ at atomic.Int64 }

// wrote records, for read-your-writes, that a write made with ctx has
// returned. writing and inTx call it; InTx calls it after the commit.
func wrote(ctx context.Context) {
	if w, ok := ctx.Value(writesKey{}).(*lastWrite); ok {
		w.at.Store(time.Now().UnixNano())
	}
}

// The methods of Repo reach the database only through reading, writing and
// inTx (InTx for callers): Repo has no query handle of its own, so a method
// cannot skip the routing below, and TestReplicas/EveryMethodIsRouted checks
// that each exported method lands where its kind says.

// queries returns the generated queries on what r runs on: its transaction,
// or its pool. Only reading, writing and the transaction helpers call it.
func (r *Repo) queries() *dbgen.Queries {
	if r.q != nil {
		return r.q
	}
	return newQueries(r.handle())
}

// handle is what r runs on: its transaction, or its pool.
func (r *Repo) handle() handle {
	if r.tx != nil {
		return r.tx
	}
	return r.pool
}

// read returns the Repo a read-only method should run on: a fresh enough
// replica when there is one, else r itself.
func (r *Repo) read(ctx context.Context) *Repo {
	if r.tx != nil || r.replicas == nil {
		return r
	}
	var notBefore time.Time
	if w, ok := ctx.Value(writesKey{}).(*lastWrite); ok {
		if at := w.at.Load(); at != 0 {
			notBefore = time.Unix(0, at)
		}
	}
	if rep := r.replicas.pick(notBefore); rep != nil {
		return rep.repo
	}
	return r
}

// reading runs the body of a read-only method with the queries of the
// server that should serve it (see read): a replica fresh enough for ctx,
// else the primary; inside a transaction, the transaction. If that fails
// because the connection or server went away, it runs it once more on the
// primary, with a fresh connection: a read is safe to repeat, and a replica
// that died since its last check is so skipped at once.
func reading[T any](ctx context.Context, r *Repo, body func(q *dbgen.Queries) (T, error)) (T, error) {
	return routeRead(ctx, r, func(served *Repo) (T, error) { return body(served.queries()) })
}

// readingPipelined is reading for a body whose statements are all known
// before the first runs: they travel together, in one round trip (see
// pipelined for what body may do), seeing one snapshot (readPipelined).
func readingPipelined[T any](ctx context.Context, r *Repo, body func(q *dbgen.Queries) (T, error)) (T, error) {
	return routeRead(ctx, r, func(served *Repo) (T, error) { return readPipelined(ctx, served.handle(), body) })
}

// readingSQL is reading for a body that sends its own statements (the
// keyset lists', built in Go): on what serves the read, as reading's.
func readingSQL[T any](ctx context.Context, r *Repo, body func(db dbgen.DBTX) (T, error)) (T, error) {
	return routeRead(ctx, r, func(served *Repo) (T, error) { return body(served.handle()) })
}

// readingPipelinedSQL is readingPipelined for a body that sends its own
// statements: one round trip, one snapshot.
func readingPipelinedSQL[T any](ctx context.Context, r *Repo, body func(db dbgen.DBTX) (T, error)) (T, error) {
	return routeRead(ctx, r, func(served *Repo) (T, error) {
		return pipelineSQL(ctx, served.handle(), framing{tx: snapshotTx}, body)
	})
}

// readAttempts bounds the runs of a read that fails for a reason that a
// moment may cure: its server or connection went away, a Citus worker is
// down or restarting, a shard moved under it (ErrUnavailable), or it lost a
// race (ErrSerialization: a Citus distributed deadlock). The second run goes
// at once, the third after a backoff; the context bounds them all.
const readAttempts = 3

func routeRead[T any](ctx context.Context, r *Repo, run func(served *Repo) (T, error)) (T, error) {
	served := r.read(ctx)
	v, err := run(served)
	for attempt := 1; attempt < readAttempts && err != nil && r.tx == nil && ctx.Err() == nil &&
		(errors.Is(err, ErrUnavailable) || errors.Is(err, ErrSerialization)); attempt++ {
		if served == r && sessionLost(err) {
			// What broke one connection (a restart, pg_terminate_backend, a
			// network cut) has usually broken its idle siblings too: have
			// the pool replace them rather than hand out the next dead one.
			// Not when the server answered (a Citus coordinator saying a
			// worker is down): its sessions are fine.
			r.pool.Reset()
		}
		if attempt > 1 && sleep(ctx, backoff(attempt)) != nil {
			break
		}
		served = r
		v, err = run(r)
	}
	return v, err
}

// writing runs the body of a one-statement write with the primary's queries
// (or the transaction's) and records the write for read-your-writes, even
// when it fails: an error can come after the server committed. A write of
// several statements uses inTx instead.
func writing[T any](ctx context.Context, r *Repo, body func(q *dbgen.Queries) (T, error)) (T, error) {
	defer wrote(ctx)
	for attempt := 1; ; attempt++ {
		started := ctx.Err() == nil
		v, err := body(r.queries())
		if err == nil || r.tx != nil {
			return v, err
		}
		if attempt >= writeAttempts || !rolledBack(err) || sleep(ctx, backoff(attempt)) != nil {
			return v, statementError(ctx, err, started)
		}
	}
}

// writeAttempts bounds the runs of a write outside a transaction whose
// statement the server refused whole for a reason that a moment may cure
// (rolledBack): nothing of it was written, so it is safe to send again. A
// Citus worker lost mid-statement is not such a reason (nodeLostMidStatement).
const writeAttempts = 3
