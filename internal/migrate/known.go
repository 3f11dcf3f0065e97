package migrate

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
)

// ErrAhead: the database has migrations applied, past this binary's latest,
// that this binary does not carry: a newer build migrated it. Migrating it,
// or writing rows into a schema this binary does not know, is refused. See
// AheadError.
var ErrAhead = errors.New("the database is ahead of this binary")

// ErrUnknownVersion: the database has a migration applied, below this
// binary's latest, that this binary does not carry: it came from another
// build (a branch's migration, one renumbered or removed), not from a newer
// one. Refused like ErrAhead. See AheadError.
var ErrUnknownVersion = errors.New("the database has a migration this binary does not know")

// AheadError names the migrations applied in the database that this
// binary's migrations lack. It matches ErrAhead with errors.Is when one is
// past Latest, and ErrUnknownVersion when one is below it.
type AheadError struct {
	Unknown []int64 // ascending
	Latest  int64   // this binary's latest migration
}

func (e *AheadError) split() (ahead, below []int64) {
	for _, v := range e.Unknown {
		if v > e.Latest {
			ahead = append(ahead, v)
		} else {
			below = append(below, v)
		}
	}
	return ahead, below
}

// versionList says "migration 7 is" or "migrations 7, 9 are".
func versionList(vs []int64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatInt(v, 10)
	}
	if len(s) == 1 {
		return "migration " + s[0] + " is"
	}
	return "migrations " + strings.Join(s, ", ") + " are"
}

func (e *AheadError) Error() string {
	ahead, below := e.split()
	var parts []string
	if len(ahead) > 0 {
		parts = append(parts, fmt.Sprintf("%v: %s applied there but unknown to this binary (its latest is %d): "+
			"use a build that has them", ErrAhead, versionList(ahead), e.Latest))
	}
	if len(below) > 0 {
		parts = append(parts, fmt.Sprintf("%v: %s applied there, below this binary's latest (%d), and not among its "+
			"migrations: another build applied it (a branch's migration, or one renumbered or removed); "+
			"find where it came from before migrating", ErrUnknownVersion, versionList(below), e.Latest))
	}
	return strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrAhead) true for an *AheadError with a version
// past Latest, errors.Is(err, ErrUnknownVersion) for one with a version below.
func (e *AheadError) Is(target error) bool {
	ahead, below := e.split()
	return (target == ErrAhead && len(ahead) > 0) || (target == ErrUnknownVersion && len(below) > 0)
}

// Sources are a binary's migrations: a *goose.Provider or a *Migrator.
type Sources interface{ ListSources() []*goose.Source }

// Unknown returns the migrations recorded as applied in the database
// (goose's version table, read with goose's own store) that p does not
// have, in ascending order of version, with their Source's Path empty;
// none when the table does not exist yet.
func Unknown(ctx context.Context, conn *sql.DB, p Sources) ([]*goose.MigrationStatus, error) {
	return unknownOn(ctx, conn, p)
}

// unknownOn is Unknown on any connection (the migrator's, under its lock).
func unknownOn(ctx context.Context, conn database.DBTxConn, p Sources) ([]*goose.MigrationStatus, error) {
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

// CheckKnown returns an *AheadError (ErrAhead, ErrUnknownVersion) when the
// database has migrations applied that p does not have (see Unknown).
// Up and Down check the same under the migration lock, so nothing can be
// applied between the check and the migration.
func CheckKnown(ctx context.Context, conn *sql.DB, p Sources) error {
	unknown, err := Unknown(ctx, conn, p)
	if err != nil {
		return err
	}
	return Ahead(unknown, p)
}

// Ahead returns an *AheadError naming the unknown migrations (from
// Unknown), or nil when there are none.
func Ahead(unknown []*goose.MigrationStatus, p Sources) error {
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
