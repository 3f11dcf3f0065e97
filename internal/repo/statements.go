package repo

import (
	"context"
	"errors"
	"iter"
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

// deletesOrUpdates reports whether sql may delete or update rows, anywhere
// in it (a WITH query too): a cheap test, without allocating.
func deletesOrUpdates(sql string) bool {
	return containsFold(sql, "delete") || containsFold(sql, "update")
}

// containsFold reports whether s contains the lower-case ASCII word w in any
// letter case.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(w)], w) {
			return true
		}
	}
	return false
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
// the statement, not at the message, which the server may translate: the
// server names the referencing table (TableName) in both cases. The
// statement is the first kind when it deletes from a table, or updates one
// other than the referencing table, anywhere in it (WITH queries included),
// and writes no row of the referencing table; anything else (an INSERT, a
// COPY, an UPDATE of the referencing table, a statement we did not see)
// counts as the second kind.
func stillReferenced(err error, pgErr *pgconn.PgError) bool {
	var fk *fkError
	if !errors.As(err, &fk) {
		return false
	}
	referencing, parent := false, false
	for verb, table := range writeTargets(fk.sql) {
		switch {
		case table == pgErr.TableName && verb != "delete":
			referencing = true // an INSERT or UPDATE of the referencing table
		case verb == "delete" || verb == "update":
			parent = true
		}
	}
	return parent && !referencing
}

// writeTargets yields each "delete", "update" and "insert" of sql with the
// table it writes (unqualified, as the server names it: unquoted names
// lower-cased, quoted ones as written).
func writeTargets(sql string) iter.Seq2[string, string] {
	return func(yield func(verb, table string) bool) {
		for word, rest := nextWord(sql); word != ""; word, rest = nextWord(rest) {
			verb := strings.ToLower(word)
			if verb != "delete" && verb != "update" && verb != "insert" {
				continue
			}
			// DELETE FROM [ONLY] t, UPDATE [ONLY] t, INSERT INTO t
			target, after := nextWord(rest)
			if low := strings.ToLower(target); low == "from" || low == "into" {
				target, after = nextWord(after)
			}
			if strings.EqualFold(target, "only") {
				target, _ = nextWord(after)
			}
			if target == "" || (verb == "update" && strings.EqualFold(target, "set")) {
				continue // the end, or ON CONFLICT DO UPDATE SET: the INSERT's own row
			}
			if !yield(verb, tableName(target)) {
				return
			}
		}
	}
}

// tableName is the name the server gives the table an identifier of a
// statement names: the last part of schema.table, unquoted names lower-cased.
func tableName(ident string) string {
	if i := strings.LastIndexByte(ident, '.'); i >= 0 {
		ident = ident[i+1:]
	}
	if len(ident) >= 2 && ident[0] == '"' && ident[len(ident)-1] == '"' {
		return strings.ReplaceAll(ident[1:len(ident)-1], `""`, `"`)
	}
	return strings.ToLower(ident)
}

// nextWord returns the first word of sql and what follows it, skipping
// spaces, comments (sqlc starts each query with "-- name: ...") and
// punctuation; the word is "" at the end.
func nextWord(sql string) (word, rest string) {
	for {
		sql = strings.TrimLeftFunc(sql, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune("(),;=", r) })
		switch {
		case strings.HasPrefix(sql, "--"):
			_, sql, _ = strings.Cut(sql, "\n")
		case strings.HasPrefix(sql, "/*"):
			_, sql, _ = strings.Cut(sql, "*/")
		case strings.HasPrefix(sql, "'"): // a string literal: skip it whole
			end := 1
			for end < len(sql) {
				if sql[end] == '\'' {
					if end+1 < len(sql) && sql[end+1] == '\'' {
						end += 2
						continue
					}
					break
				}
				end++
			}
			sql = sql[min(end+1, len(sql)):]
		default:
			end := strings.IndexFunc(sql, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune("(),;='", r) })
			if end < 0 {
				end = len(sql)
			}
			return sql[:end], sql[end:]
		}
	}
}
