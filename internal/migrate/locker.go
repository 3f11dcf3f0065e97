package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// sessionLocker is goose's Postgres session locker and what must happen on
// the locked connection, which goose's Provider runs every migration on:
// the known-versions check (under the lock, so no migrator applies one
// between the check and the run), the session's lock_timeout and
// statement_timeout (reset when the lock is given back: the connection goes
// back to the caller's pool), and a watch of the lock the session waits for,
// so that a lock timeout can say which.
type sessionLocker struct {
	inner lock.SessionLocker
	db    *sql.DB
	opts  Options

	mu           sync.Mutex
	provider     *goose.Provider // set once built: the locker comes first
	allowUnknown bool            // status lists unknown versions rather than refusing
	stopWatch    func()
	waited       *lockWait // the last wait seen
}

func newSessionLocker(db *sql.DB, opts Options) (*sessionLocker, error) {
	// Poll for the lock every second (goose's default is every 5 s), for up to
	// 5 minutes, so that a migrator waiting behind another starts promptly.
	inner, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migrate: session locker: %w", err)
	}
	return &sessionLocker{inner: inner, db: db, opts: opts}, nil
}

func (l *sessionLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if err := l.inner.SessionLock(ctx, conn); err != nil {
		return err
	}
	// goose does not unlock when this fails: give the lock back here.
	if err := l.locked(ctx, conn); err != nil {
		return errors.Join(err, l.inner.SessionUnlock(context.WithoutCancel(ctx), conn))
	}
	return nil
}

func (l *sessionLocker) locked(ctx context.Context, conn *sql.Conn) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	unknown, err := unknownOn(ctx, conn, l.provider)
	if err != nil {
		return err
	}
	if ahead := Ahead(unknown, l.provider); ahead != nil && !l.allowUnknown {
		return ahead
	}
	// The session's bounds; a transactional migration also gets
	// statement_timeout (timeoutFS), a NO TRANSACTION one runs unbounded (a
	// concurrent build takes as long as its table, holding no lock that
	// stops writes).
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET lock_timeout = %d; SET statement_timeout = 0",
		l.opts.lockTimeout().Milliseconds())); err != nil {
		return fmt.Errorf("migrate: set lock_timeout: %w", err)
	}
	var pid int
	if err := conn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	l.waited = nil
	l.stopWatch = l.watch(ctx, pid)
	return nil
}

func (l *sessionLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	l.mu.Lock()
	stop := l.stopWatch
	l.stopWatch = nil
	l.mu.Unlock()
	if stop != nil {
		stop()
	}
	_, reset := conn.ExecContext(ctx, "RESET lock_timeout; RESET statement_timeout")
	return errors.Join(reset, l.inner.SessionUnlock(ctx, conn))
}

// lockWait is a lock the migrator's session waited for, from pg_locks.
type lockWait struct {
	Lock   string // "AccessExclusiveLock on relation users"
	Holder string // the first session ahead of it: pid, state, its statement's first word, its application
}

// watch polls pg_locks, on a connection of its own, for a lock the session
// pid waits for, and keeps the last one seen, until the returned stop.
func (l *sessionLocker) watch(ctx context.Context, pid int) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(watchEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var w lockWait
			err := l.db.QueryRowContext(ctx, waitQuery, pid).Scan(&w.Lock, &w.Holder)
			if err != nil { // no wait now (sql.ErrNoRows), or ctx ended
				continue
			}
			l.mu.Lock()
			l.waited = &w
			l.mu.Unlock()
		}
	}()
	return func() { cancel(); <-done }
}

// watchEvery is well under any lock_timeout worth setting (seconds).
const watchEvery = 100 * time.Millisecond

// waitQuery finds the lock pid $1 waits for, and the first session ahead of
// it (pg_blocking_pids: holding it, or queued before it for a mode that
// conflicts) and what it does: the first word of its statement and its
// application, never the statement's text, which may quote a value (a
// password in an ALTER ROLE).
const waitQuery = `
SELECT l.mode || ' on ' || CASE
           WHEN l.relation IS NOT NULL THEN 'relation ' || l.relation::regclass::text
           WHEN l.locktype = 'virtualxid' THEN 'the end of transaction ' || l.virtualxid
           WHEN l.locktype = 'transactionid' THEN 'the end of transaction ' || l.transactionid::text
           ELSE l.locktype END,
       coalesce((SELECT format('pid %s (%s): %s, %s', a.pid, a.state,
                               upper(substring(a.query FROM '^\s*([A-Za-z]+)')),
                               coalesce(nullif(a.application_name, ''), a.backend_type))
                 FROM pg_stat_activity a WHERE a.pid = (pg_blocking_pids(l.pid))[1]), '')
FROM pg_locks l
WHERE l.pid = $1 AND NOT l.granted
LIMIT 1`

// lastWait returns the last lock wait seen, or nil.
func (l *sessionLocker) lastWait() *lockWait {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waited
}
