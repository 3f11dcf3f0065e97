// Package migrate applies the embedded goose migrations from Go code.
//
// A Postgres session-level advisory lock serialises migrators, so several
// processes starting at once apply each migration exactly once. Under it,
// the migrator checks that the database has no migration it does not know
// (AheadError), and runs every migration with a lock_timeout and, in a
// transaction, a statement_timeout (Options): a migration that waits for a
// lock gives up after seconds, saying which lock (TimeoutError), instead of
// queueing every write behind it.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/inkwell-dev/inkwell/db"
)

// Migrator is a goose Provider whose runs hold the session lock, refuse a
// database with unknown migrations, and bound their waits. Its Up, UpTo,
// Down and DownTo return a *TimeoutError for a migration that timed out;
// the Provider's other methods are goose's.
type Migrator struct {
	*goose.Provider
	locker *sessionLocker
	conn   *sql.DB
}

// NewProvider returns a Migrator over the embedded migrations with the
// default Options.
func NewProvider(conn *sql.DB) (*Migrator, error) {
	return New(conn, db.Migrations(), Options{})
}

// NewProviderFS is NewProvider over the migrations in fsys.
func NewProviderFS(conn *sql.DB, fsys fs.FS) (*Migrator, error) {
	return New(conn, fsys, Options{})
}

// New returns a Migrator over the migrations in fsys, run through conn.
func New(conn *sql.DB, fsys fs.FS, opts Options) (*Migrator, error) {
	locker, err := newSessionLocker(conn, opts)
	if err != nil {
		return nil, err
	}
	timed, err := timeoutFS(fsys, opts.statementTimeout())
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, conn, timed, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	locker.provider = p
	return &Migrator{Provider: p, locker: locker, conn: conn}, nil
}

// Up applies every pending migration; see Provider.Up. An *AheadError when
// the database has migrations this binary lacks (nothing applied); a
// *TimeoutError for one that timed out (those before it stay applied); an
// *InvalidIndexError, joined to any other, when an index is INVALID after.
func (m *Migrator) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	return m.UpTo(ctx, math.MaxInt64)
}

// UpTo is Provider.UpTo with Up's errors.
func (m *Migrator) UpTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	results, err := m.run(ctx, "nothing applied", func() ([]*goose.MigrationResult, error) { return m.Provider.UpTo(ctx, version) })
	var ahead *AheadError
	if errors.As(err, &ahead) {
		return results, err
	}
	// A concurrent build that failed (or timed out) leaves an INVALID index;
	// one re-run with IF NOT EXISTS is recorded as applied over it.
	return results, errors.Join(err, CheckIndexes(ctx, m.conn))
}

// Down rolls back the latest migration; see Provider.Down and Up's errors.
func (m *Migrator) Down(ctx context.Context) (*goose.MigrationResult, error) {
	var result *goose.MigrationResult
	_, err := m.run(ctx, "nothing rolled back", func() ([]*goose.MigrationResult, error) {
		var err error
		result, err = m.Provider.Down(ctx)
		return nil, err
	})
	return result, err
}

// DownTo is Provider.DownTo with Up's errors.
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	return m.run(ctx, "nothing rolled back", func() ([]*goose.MigrationResult, error) { return m.Provider.DownTo(ctx, version) })
}

// run checks for unknown versions, then runs migrate, whose goose checks
// them again under the migration lock (sessionLocker): the first check is
// for the cases goose refuses or skips before it locks (nothing pending; a
// missing version below the database's), the second closes the window
// between a check and the run.
func (m *Migrator) run(ctx context.Context, nothing string, migrate func() ([]*goose.MigrationResult, error)) ([]*goose.MigrationResult, error) {
	if err := CheckKnown(ctx, m.conn, m); err != nil {
		return nil, m.explain(err, nothing)
	}
	results, err := migrate()
	return results, m.explain(err, nothing)
}

func (m *Migrator) explain(err error, nothing string) error {
	if err == nil {
		return nil
	}
	var ahead *AheadError
	if errors.As(err, &ahead) {
		return fmt.Errorf("%w; %s", ahead, nothing)
	}
	return m.locker.timedOut(err)
}

// Status is Provider.Status, and the migrations applied in the database that
// m lacks (see Unknown), read under the migration lock; it does not refuse
// them as Up does.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, []*goose.MigrationStatus, error) {
	m.locker.mu.Lock()
	m.locker.allowUnknown = true
	m.locker.mu.Unlock()
	defer func() {
		m.locker.mu.Lock()
		m.locker.allowUnknown = false
		m.locker.mu.Unlock()
	}()
	statuses, err := m.Provider.Status(ctx)
	if err != nil {
		return statuses, nil, err
	}
	unknown, err := Unknown(ctx, m.conn, m.Provider)
	return statuses, unknown, err
}

// Up applies every pending embedded migration through conn, then adjusts
// the app role's rights (see SetupRoles) when the role exists. Errors say
// which migration failed; an *AheadError (ErrAhead, ErrUnknownVersion),
// nothing applied, when the database has a migration this binary does not
// know; a *TimeoutError (ErrLockTimeout) for one that waited too long for a
// lock; an *InvalidIndexError (ErrInvalidIndex) when an index is left
// INVALID (a failed CREATE INDEX CONCURRENTLY).
func Up(ctx context.Context, conn *sql.DB) ([]*goose.MigrationResult, error) {
	return UpFS(ctx, conn, db.Migrations())
}

// UpFS is Up with the migrations in fsys (tests add one to the embedded ones).
func UpFS(ctx context.Context, conn *sql.DB, fsys fs.FS) ([]*goose.MigrationResult, error) {
	return UpOptions(ctx, conn, fsys, Options{})
}

// UpOptions is UpFS with opts.
func UpOptions(ctx context.Context, conn *sql.DB, fsys fs.FS, opts Options) ([]*goose.MigrationResult, error) {
	m, err := New(conn, fsys, opts)
	if err != nil {
		return nil, err
	}
	results, err := m.Up(ctx)
	if err != nil {
		return results, fmt.Errorf("migrate up: %w", err)
	}
	if _, err := conn.ExecContext(ctx, appRights); err != nil {
		return results, fmt.Errorf("migrate up: %w", err)
	}
	return results, nil
}

// UpPool applies every pending migration through a pgx pool.
func UpPool(ctx context.Context, pool *pgxpool.Pool) ([]*goose.MigrationResult, error) {
	return UpPoolFS(ctx, pool, db.Migrations())
}

// UpPoolFS is UpPool with the migrations in fsys.
func UpPoolFS(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) ([]*goose.MigrationResult, error) {
	conn := stdlib.OpenDBFromPool(pool)
	defer conn.Close()
	return UpFS(ctx, conn, fsys)
}

// Report writes one line per applied migration, as goose's CLI does.
func Report(w io.Writer, results []*goose.MigrationResult) {
	for _, r := range results {
		fmt.Fprintln(w, r)
	}
}
