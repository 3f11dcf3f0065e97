package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidIndex: an index of the schema is INVALID: a CREATE INDEX
// CONCURRENTLY (or REINDEX CONCURRENTLY) failed halfway, and left it there.
// Queries do not use it, yet every write maintains it, and a re-run with IF
// NOT EXISTS would skip it. See InvalidIndexError.
var ErrInvalidIndex = errors.New("an index is INVALID")

// InvalidIndex is an index that is not valid, and whether a build of it is
// running now (then it may yet become valid).
type InvalidIndex struct {
	Index, Table string // schema-qualified where not on the search_path
	Building     bool
}

// InvalidIndexError names the INVALID indexes; it matches ErrInvalidIndex.
type InvalidIndexError struct{ Indexes []InvalidIndex }

func (e *InvalidIndexError) Error() string {
	names := make([]string, len(e.Indexes))
	for i, x := range e.Indexes {
		names[i] = x.Index + " on " + x.Table
	}
	return fmt.Sprintf("%v: %s: a concurrent build failed; drop it (DROP INDEX CONCURRENTLY) and apply its "+
		"migration again (migrate down, then up)", ErrInvalidIndex, strings.Join(names, ", "))
}

func (e *InvalidIndexError) Is(target error) bool { return target == ErrInvalidIndex }

// InvalidIndexes lists the indexes not valid on the tables of the schemas
// on conn's search_path, those being built now too.
func InvalidIndexes(ctx context.Context, conn *sql.DB) ([]InvalidIndex, error) {
	rows, err := conn.QueryContext(ctx, `
		SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text,
		       EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid)
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE NOT i.indisvalid AND n.nspname = ANY (current_schemas(false))
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("migrate: invalid indexes: %w", err)
	}
	defer rows.Close()
	var out []InvalidIndex
	for rows.Next() {
		var x InvalidIndex
		if err := rows.Scan(&x.Index, &x.Table, &x.Building); err != nil {
			return nil, fmt.Errorf("migrate: invalid indexes: %w", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: invalid indexes: %w", err)
	}
	return out, nil
}

// CheckIndexes returns an *InvalidIndexError naming the INVALID indexes
// that no build is working on now, or nil.
func CheckIndexes(ctx context.Context, conn *sql.DB) error {
	all, err := InvalidIndexes(ctx, conn)
	if err != nil {
		return err
	}
	e := &InvalidIndexError{}
	for _, x := range all {
		if !x.Building {
			e.Indexes = append(e.Indexes, x)
		}
	}
	if len(e.Indexes) == 0 {
		return nil
	}
	return e
}
