package repo

import (
	"context"
	"errors"
	"strings"
	"unicode"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// newQueries returns the generated queries on db, whose foreign key
// violations carry the statement that caused them (see stillReferenced).
// Every Repo builds its queries with it (Repo.queries).
func newQueries(db dbgen.DBTX) *dbgen.Queries { return dbgen.New(statements{db}) }

// A foreign key violation (23503) means "the row referred to is missing"
// when the statement wrote the referencing row, and "the row is still
// referred to" when it deleted the referenced row or changed its key. The
// server's error does not tell them apart but by its (translated) wording:
// PostgreSQL's ri_ReportViolation sets TableName to the referencing table and
// ConstraintName to the foreign key in both cases. The statement does, so
// statements attaches it to such errors.
type statements struct{ db dbgen.DBTX }

// fkError is a foreign key violation with the statement that caused it.
type fkError struct {
	sql string
	err error
}

func (e *fkError) Error() string { return e.err.Error() }
func (e *fkError) Unwrap() error { return e.err }

func withStatement(sql string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == pgerrcode.ForeignKeyViolation {
		return &fkError{sql: sql, err: err}
	}
	return err
}

func (s statements) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := s.db.Exec(ctx, sql, args...)
	return tag, withStatement(sql, err)
}

// Query and QueryRow wrap their results only for the statements that can
// block on a reference (DELETE, UPDATE): reads stay free of the allocation.

func (s statements) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return rows, withStatement(sql, err)
	}
	if !deletesOrUpdates(sql) {
		return rows, nil
	}
	return stmtRows{Rows: rows, sql: sql}, nil
}

func (s statements) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	row := s.db.QueryRow(ctx, sql, args...)
	if !deletesOrUpdates(sql) {
		return row
	}
	return stmtRow{row: row, sql: sql}
}

func deletesOrUpdates(sql string) bool {
	w, _ := nextWord(sql)
	return strings.EqualFold(w, "delete") || strings.EqualFold(w, "update")
}

func (s statements) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	return s.db.CopyFrom(ctx, table, columns, src) // COPY only inserts: missing references are ErrNotFound
}

type stmtRows struct {
	pgx.Rows
	sql string
}

func (r stmtRows) Err() error { return withStatement(r.sql, r.Rows.Err()) }

type stmtRow struct {
	row pgx.Row
	sql string
}

func (r stmtRow) Scan(dest ...any) error { return withStatement(r.sql, r.row.Scan(dest...)) }

// stillReferenced reports whether the foreign key violation pgErr, part of
// err, was caused by deleting (or re-keying) a row that other rows refer
// to, rather than by writing a row that refers to a missing one. It looks at
// the statement, not at the message, which the server may translate. A
// DELETE is the first kind; an UPDATE is when it updates another table than
// the referencing one, which the server names in TableName. Anything else
// (INSERT, COPY, a WITH query, a statement we did not see) counts as the
// second kind.
func stillReferenced(err error, pgErr *pgconn.PgError) bool {
	var fk *fkError
	if !errors.As(err, &fk) {
		return false
	}
	words := sqlWords(fk.sql, 4)
	switch {
	case len(words) >= 1 && words[0] == "delete":
		return true
	case len(words) >= 2 && words[0] == "update":
		target := words[1]
		if target == "only" && len(words) >= 3 {
			target = words[2]
		}
		if i := strings.LastIndexByte(target, '.'); i >= 0 { // schema.table
			target = target[i+1:]
		}
		return strings.Trim(target, `"`) != strings.ToLower(pgErr.TableName)
	}
	return false
}

// sqlWords returns up to n leading words of sql, lowercased.
func sqlWords(sql string, n int) []string {
	var words []string
	for len(words) < n {
		var w string
		if w, sql = nextWord(sql); w == "" {
			break
		}
		words = append(words, strings.ToLower(w))
	}
	return words
}

// nextWord returns the first word of sql and what follows it, skipping
// spaces and comments (sqlc starts each query with "-- name: ..."); the word
// is "" at the end or before punctuation.
func nextWord(sql string) (word, rest string) {
	for {
		sql = strings.TrimLeftFunc(sql, unicode.IsSpace)
		switch {
		case strings.HasPrefix(sql, "--"):
			_, sql, _ = strings.Cut(sql, "\n")
		case strings.HasPrefix(sql, "/*"):
			_, sql, _ = strings.Cut(sql, "*/")
		default:
			end := strings.IndexFunc(sql, func(r rune) bool { return unicode.IsSpace(r) || r == '(' || r == ';' })
			if end < 0 {
				end = len(sql)
			}
			return sql[:end], sql[end:]
		}
	}
}
