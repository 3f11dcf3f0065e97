package repo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// commitGrace is how long a COMMIT already sent may still take to answer
// once the caller's context has ended. Its answer usually comes within
// milliseconds, and waiting for it turns what would be an unknown outcome
// into a known one; a server that does not answer in time (hung, or the
// network gone) is given up on, and the outcome reported as unknown. It is
// the second OpenPool's pools give the server to answer a cancel request
// (which, on those pools, then follows: the wait is bounded by ctx plus two
// seconds at most; on a pool with pgx's default handler, plus one).
const commitGrace = time.Second

// commitContext returns the context to send a COMMIT (or a batch ending in
// one) with: not cancelled when ctx ends, but commitGrace later, so that
// the caller's context still bounds the wait. Its values are ctx's. Call
// stop when the COMMIT's answer has been read.
func commitContext(ctx context.Context) (cctx context.Context, stop func()) {
	cctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stopWatch := context.AfterFunc(ctx, func() {
		t := time.NewTimer(commitGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel(context.Cause(ctx))
		case <-cctx.Done():
		}
	})
	return cctx, func() {
		stopWatch()
		cancel(nil)
	}
}

// commit sends a COMMIT with send, bounded as commitContext says. It
// returns nil when the server said it committed; the driver's error when the
// server said it did not (or nothing was sent), for dbError to map; else an
// error matching ErrCommitUnknown, mapped already (dbError passes it
// through). A ctx already done sends nothing.
func commit(ctx context.Context, send func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cctx, stop := commitContext(ctx)
	err := send(cctx)
	stop()
	return commitError(ctx, err)
}

// commitError is the error of a COMMIT sent on behalf of ctx, or of a
// batch ending in one (whose statements' errors it may be): see commit.
func commitError(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, ErrCommitUnknown) || !answerLost(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrCommitUnknown, dbError(ctx, err))
}

// answerLost reports whether err, met while reading the answers to a
// COMMIT or to a batch ending in one, leaves the outcome unknown: the
// context ended or the connection broke after it was sent, or the server
// ended the session (a FATAL, maybe after committing). Nothing sent
// (pgconn.SafeToRetry), or an ERROR from the server, which rolls the
// transaction back, says for sure that nothing was committed; so does a
// connection that was never made (pgconn.ConnectError, even one carrying a
// FATAL from the server such as too many clients).
func answerLost(err error) bool {
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	switch {
	case errors.As(err, &connectErr):
		return false
	case errors.As(err, &pgErr):
		// A connection exception (class 08) may come from a pooler; not
		// a Citus coordinator's about a node (citusNodeError): its
		// session, and the ERROR that rolled the transaction back, are
		// its own.
		return cmp.Or(pgErr.SeverityUnlocalized, pgErr.Severity) != "ERROR" ||
			strings.HasPrefix(pgErr.Code, "08") && !citusNodeError(pgErr)
	case pgconn.SafeToRetry(err):
		return false
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		pgconn.Timeout(err) || connectionLost(err)
}

// statementError is the error of a write outside a transaction, which its
// statement commits (or its own pipeline's COMMIT, see commitError): an
// answer lost once the statement may have been sent leaves the outcome
// unknown, ErrCommitUnknown. On a pool with pgx's default handler, a
// context that ends while the answer is read cuts the read off with the
// bare context.Canceled, which is also what the pool's Acquire says: so a
// context's error is unknown unless ctx had ended before the write began
// (started false), when nothing was sent.
func statementError(ctx context.Context, err error, started bool) error {
	if nodeLostMidStatement(err) && !errors.Is(err, ErrCommitUnknown) {
		return fmt.Errorf("%w: %w", ErrCommitUnknown, dbError(ctx, err))
	}
	if errors.Is(err, ErrCommitUnknown) || !answerLost(err) {
		return err
	}
	var pgErr *pgconn.PgError
	if !started && !pgconn.Timeout(err) && !errors.As(err, &pgErr) &&
		(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrCommitUnknown, dbError(ctx, err))
}
