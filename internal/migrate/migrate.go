// Package migrate applies the embedded goose migrations from Go code.
//
// A Postgres session-level advisory lock serialises migrators, so several
// processes starting at once apply each migration exactly once.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/inkwell-dev/inkwell/db"
)

// NewProvider returns a goose provider over the embedded migrations that holds
// a session lock while it migrates.
func NewProvider(conn *sql.DB) (*goose.Provider, error) {
	return NewProviderFS(conn, db.Migrations())
}

// NewProviderFS is NewProvider over the migrations in fsys.
func NewProviderFS(conn *sql.DB, fsys fs.FS) (*goose.Provider, error) {
	// Poll for the lock every second (goose's default is every 5 s), for up to
	// 5 minutes, so that a migrator waiting behind another starts promptly.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migrate: session locker: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, conn, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return p, nil
}

// Up applies every pending embedded migration through conn, then adjusts
// the app role's rights (see SetupRoles) when the role exists. Errors say
// which migration failed.
func Up(ctx context.Context, conn *sql.DB) ([]*goose.MigrationResult, error) {
	return UpFS(ctx, conn, db.Migrations())
}

// UpFS is Up with the migrations in fsys (tests add one to the embedded ones).
func UpFS(ctx context.Context, conn *sql.DB, fsys fs.FS) ([]*goose.MigrationResult, error) {
	p, err := NewProviderFS(conn, fsys)
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
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
	conn := stdlib.OpenDBFromPool(pool)
	defer conn.Close()
	return Up(ctx, conn)
}

// Report writes one line per applied migration, as goose's CLI does.
func Report(w io.Writer, results []*goose.MigrationResult) {
	for _, r := range results {
		fmt.Fprintln(w, r)
	}
}
