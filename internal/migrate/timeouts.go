package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
)

// Defaults of Options: a migration that waits for a lock gives up after
// seconds, so the statements queued behind its request (every write, when it
// wants an ACCESS EXCLUSIVE lock) wait that long at most; one that works
// under its locks for more than a minute in a transaction is stopped, its
// locks released, rather than block the table for as long as it runs.
const (
	DefaultLockTimeout      = 5 * time.Second
	DefaultStatementTimeout = time.Minute
)

// Options bound the migrations' waits. Zero values take the defaults.
type Options struct {
	// LockTimeout is every migration's lock_timeout.
	LockTimeout time.Duration
	// StatementTimeout is the statement_timeout of a migration that runs
	// in a transaction (holding its locks until it commits). A NO
	// TRANSACTION migration (CREATE INDEX CONCURRENTLY, which takes as long
	// as its table and lets writes through) has none.
	StatementTimeout time.Duration
}

func (o Options) lockTimeout() time.Duration { return orDefault(o.LockTimeout, DefaultLockTimeout) }
func (o Options) statementTimeout() time.Duration {
	return orDefault(o.StatementTimeout, DefaultStatementTimeout)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ErrLockTimeout: a migration waited for a lock longer than its
// lock_timeout and was rolled back (a NO TRANSACTION one stopped at that
// statement). See TimeoutError.
var ErrLockTimeout = errors.New("migration gave up waiting for a lock")

// ErrStatementTimeout: a transactional migration ran longer than its
// statement_timeout and was rolled back. See TimeoutError.
var ErrStatementTimeout = errors.New("migration ran past its statement_timeout")

// TimeoutError names the migration that timed out, the bound, and for a
// lock the lock it waited for and who held it. It matches ErrLockTimeout or
// ErrStatementTimeout with errors.Is, and the server's error with errors.As.
type TimeoutError struct {
	Migration string        // its file name
	Limit     time.Duration // the lock_timeout or statement_timeout
	Lock      string        // the lock waited for ("AccessExclusiveLock on relation users"), when seen
	Holder    string        // the first session ahead of it, when seen
	lock      bool
	Err       error
}

func (e *TimeoutError) Error() string {
	if !e.lock {
		return fmt.Sprintf("%v: migration %s, after %v: %v", ErrStatementTimeout, e.Migration, e.Limit, e.Err)
	}
	what := "a lock"
	if e.Lock != "" {
		what = e.Lock
	}
	msg := fmt.Sprintf("%v: migration %s waited %v for %s", ErrLockTimeout, e.Migration, e.Limit, what)
	if e.Holder != "" {
		msg += ", held by " + e.Holder
	}
	return msg + "; it is not recorded as applied: retry when that session ends: " + e.Err.Error()
}

func (e *TimeoutError) Unwrap() error { return e.Err }

func (e *TimeoutError) Is(target error) bool {
	return (target == ErrLockTimeout && e.lock) || (target == ErrStatementTimeout && !e.lock)
}

// timedOut turns goose's error for a migration that hit a timeout into a
// *TimeoutError; any other error comes back as it is.
func (l *sessionLocker) timedOut(err error) error {
	var pg *pgconn.PgError
	var partial *goose.PartialError
	if !errors.As(err, &pg) || !errors.As(err, &partial) || partial.Failed == nil {
		return err
	}
	e := &TimeoutError{Migration: filepath.Base(partial.Failed.Source.Path), Err: err}
	switch {
	case pg.Code == "55P03": // lock_not_available: lock_timeout
		e.lock, e.Limit = true, l.opts.lockTimeout()
		if w := l.lastWait(); w != nil {
			e.Lock, e.Holder = w.Lock, w.Holder
		}
	case pg.Code == "57014" && strings.Contains(pg.Message, "statement timeout"):
		e.Limit = l.opts.statementTimeout()
	default:
		return err
	}
	return e
}

// noTransaction is goose's annotation (goose reads it case-insensitively).
var noTransaction = regexp.MustCompile(`(?im)^--\s*\+goose\s+NO\s+TRANSACTION\s*$`)

// direction is a section's start: the SET goes right after it.
var direction = regexp.MustCompile(`(?im)^--\s*\+goose\s+(Up|Down)\s*$`)

// timeoutFS returns fsys with each transactional migration's sections
// starting with SET LOCAL statement_timeout (it ends with the migration's
// transaction); NO TRANSACTION ones and other files as they are.
func timeoutFS(fsys fs.FS, limit time.Duration) (fs.FS, error) {
	out := fstest.MapFS{}
	set := fmt.Sprintf("SET LOCAL statement_timeout = %d;", limit.Milliseconds())
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".sql") && !noTransaction.Match(b) {
			b = direction.ReplaceAll(b, []byte("$0\n"+set))
		}
		out[path] = &fstest.MapFile{Data: b, Mode: 0o444}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("migrate: read migrations: %w", err)
	}
	return out, nil
}
