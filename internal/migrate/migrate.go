// Package migrate applies the embedded goose migrations from Go code.
//
// A Postgres session-level advisory lock serialises migrators, so several
// processes starting at once apply each migration exactly once.
package migrate

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
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
// which migration failed; an *AheadError (ErrAhead), nothing applied, when
// the database has a migration this binary does not know.
func Up(ctx context.Context, conn *sql.DB) ([]*goose.MigrationResult, error) {
	return UpFS(ctx, conn, db.Migrations())
}

// UpFS is Up with the migrations in fsys (tests add one to the embedded ones).
func UpFS(ctx context.Context, conn *sql.DB, fsys fs.FS) ([]*goose.MigrationResult, error) {
	p, err := NewProviderFS(conn, fsys)
	if err != nil {
		return nil, err
	}
	if err := CheckKnown(ctx, conn, p); err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
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

// ErrAhead: the database has migrations applied that this binary does not
// carry: a newer build migrated it. Migrating it, or writing rows into a
// schema this binary does not know, is refused. See AheadError.
var ErrAhead = errors.New("the database is ahead of this binary")

// AheadError names the migrations applied in the database that this
// binary's migrations lack. It matches ErrAhead with errors.Is.
type AheadError struct {
	Unknown []int64 // ascending
	Latest  int64   // this binary's latest migration
}

func (e *AheadError) Error() string {
	versions := make([]string, len(e.Unknown))
	for i, v := range e.Unknown {
		versions[i] = strconv.FormatInt(v, 10)
	}
	which := "migration " + versions[0] + " is"
	if len(versions) > 1 {
		which = "migrations " + strings.Join(versions, ", ") + " are"
	}
	return fmt.Sprintf("%v: %s applied there but unknown to this binary (its latest is %d): "+
		"use a build that has them", ErrAhead, which, e.Latest)
}

// Is makes errors.Is(err, ErrAhead) true for an *AheadError.
func (e *AheadError) Is(target error) bool { return target == ErrAhead }

// Unknown returns the migrations recorded as applied in the database
// (goose's version table, read with goose's own store) that p does not
// have, in ascending order of version, with their Source's Path empty;
// none when the table does not exist yet.
func Unknown(ctx context.Context, conn *sql.DB, p *goose.Provider) ([]*goose.MigrationStatus, error) {
	store, err := database.NewStore(database.DialectPostgres, goose.DefaultTablename)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if ext, ok := store.(database.StoreExtender); ok {
		exists, err := ext.TableExists(ctx, conn)
		if err != nil {
			return nil, fmt.Errorf("migrate: applied migrations: %w", err)
		}
		if !exists {
			return nil, nil
		}
	}
	applied, err := store.ListMigrations(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("migrate: applied migrations: %w", err)
	}
	known := map[int64]bool{0: true} // goose's own first row
	for _, s := range p.ListSources() {
		known[s.Version] = true
	}
	var out []*goose.MigrationStatus
	for _, m := range applied {
		if known[m.Version] {
			continue
		}
		known[m.Version] = true // once
		r, err := store.GetMigration(ctx, conn, m.Version)
		if err != nil {
			return nil, fmt.Errorf("migrate: applied migration %d: %w", m.Version, err)
		}
		out = append(out, &goose.MigrationStatus{Source: &goose.Source{Type: goose.TypeSQL, Version: m.Version},
			State: goose.StateApplied, AppliedAt: r.Timestamp})
	}
	slices.SortFunc(out, func(a, b *goose.MigrationStatus) int { return cmp.Compare(a.Source.Version, b.Source.Version) })
	return out, nil
}

// CheckKnown returns an *AheadError (ErrAhead) when the database has
// migrations applied that p does not have (see Unknown).
func CheckKnown(ctx context.Context, conn *sql.DB, p *goose.Provider) error {
	unknown, err := Unknown(ctx, conn, p)
	if err != nil {
		return err
	}
	return Ahead(unknown, p)
}

// Ahead returns an *AheadError naming the unknown migrations (from
// Unknown), or nil when there are none.
func Ahead(unknown []*goose.MigrationStatus, p *goose.Provider) error {
	if len(unknown) == 0 {
		return nil
	}
	e := &AheadError{}
	for _, u := range unknown {
		e.Unknown = append(e.Unknown, u.Source.Version)
	}
	if sources := p.ListSources(); len(sources) > 0 {
		e.Latest = sources[len(sources)-1].Version
	}
	return e
}
