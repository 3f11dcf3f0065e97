package db_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// lint runs make lint's migration check (tools/squawk/lint) over dir.
func lint(t *testing.T, dir string) (ok bool, out string) {
	t.Helper()
	cmd := exec.Command("../tools/squawk/lint", dir)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	b, err := cmd.CombinedOutput()
	if err != nil {
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%s", b)
	}
	require.NotContains(t, string(b), "squawk is not installed", "run .ci/prereqs (make test does)")
	return err == nil, string(b)
}

// withMigrations copies db/schema to a temporary folder and adds migrations
// after its last one, as a contributor would, returning the folder and the
// first new file's name.
func withMigrations(t *testing.T, sqls ...string) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	files, err := filepath.Glob("schema/*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var latest int64
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644))
		v, err := strconv.ParseInt(strings.SplitN(filepath.Base(f), "_", 2)[0], 10, 64)
		require.NoError(t, err, f)
		latest = max(latest, v)
	}
	for i, sql := range sqls {
		name := fmt.Sprintf("%05d_change_%d.sql", latest+1+int64(i), i+1)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644))
		if i == 0 {
			file = name
		}
	}
	return dir, file
}

// TestMigrationsLint: make lint passes db/schema as it is, and fails a new
// migration that would block writes to a live table, with squawk's message
// naming the file and the rule; the safe forms of the same changes pass.
func TestMigrationsLint(t *testing.T) {
	t.Parallel()
	ok, out := lint(t, "schema")
	require.True(t, ok, "db/schema must pass make lint:\n%s", out)
	// CONTRIBUTING's expand/contract steps, which TestExpandContract runs.
	ok, out = lint(t, "../internal/migrate/testdata/expand")
	require.True(t, ok, "the expand/contract steps must pass make lint:\n%s", out)

	blocking := map[string]struct{ sql, rule, message string }{
		"IndexNotConcurrent": {"CREATE INDEX users_age_name_idx ON users (age, name);",
			"require-concurrent-index-creation", "table updates are blocked"},
		"DropIndexNotConcurrent": {"DROP INDEX users_age_id_idx;",
			"require-concurrent-index-deletion", "acquires an `ACCESS EXCLUSIVE` lock"},
		"NotNullWithoutDefault": {"ALTER TABLE users ADD COLUMN nickname text NOT NULL;",
			"adding-required-field", "NOT NULL` and has no default"},
		"SetNotNull": {"ALTER TABLE users ALTER COLUMN name SET NOT NULL;",
			"adding-not-nullable-field", "blocks reads while the table is scanned"},
		"ForeignKeyValidated": {"ALTER TABLE posts ADD CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
			"adding-foreign-key-constraint", "blocks writes to each table"},
		"CheckValidated": {"ALTER TABLE users ADD CONSTRAINT users_age_adult CHECK (age >= 18);",
			"constraint-missing-not-valid", "block writes to the table while that scan occurs"},
		"ValidateInSameTransaction": {"ALTER TABLE users ADD CONSTRAINT users_age_adult CHECK (age >= 18) NOT VALID;\n" +
			"ALTER TABLE users VALIDATE CONSTRAINT users_age_adult;",
			"constraint-missing-not-valid", "in the same transaction will block all reads"},
		"ColumnType": {"ALTER TABLE users ALTER COLUMN age TYPE bigint;",
			"changing-column-type", "rewritten"},
		"RenameColumn": {"ALTER TABLE users RENAME COLUMN name TO full_name;",
			"renaming-column", "may break existing clients"},
		"ConcurrentInTransaction": {"CREATE INDEX CONCURRENTLY IF NOT EXISTS users_age_name_idx ON users (age, name);",
			"ban-concurrent-index-creation-in-transaction", "not allowed when the `CONCURRENTLY` option is used"},
		// Outside a transaction a statement that fails halfway stays half
		// done: a rerun must skip what is there.
		"ConcurrentNotRerunnable": {"-- +goose NO TRANSACTION\nCREATE INDEX CONCURRENTLY users_age_name_idx ON users (age, name);",
			"prefer-robust-stmts", "Missing `IF NOT EXISTS`"},
	}
	for name, tc := range blocking {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir, file := withMigrations(t, "-- +goose Up\n"+tc.sql+"\n\n-- +goose Down\nSELECT 1;\n")
			ok, out := lint(t, dir)
			require.False(t, ok, "make lint passed:\n%s", out)
			require.Contains(t, out, tc.rule)
			require.Contains(t, out, tc.message)
			require.Contains(t, out, file)
		})
	}

	safe := map[string][]string{
		"Concurrent": {"-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_age_name_idx ON users (age, name);\n\n" +
			"-- +goose Down\nDROP INDEX CONCURRENTLY IF EXISTS users_age_name_idx;\n"},
		"NotNullWithDefault": {"-- +goose Up\nALTER TABLE users ADD COLUMN verified boolean NOT NULL DEFAULT false;\n\n" +
			"-- +goose Down\nALTER TABLE users DROP COLUMN verified;\n"},
		// Two migrations, two transactions: the ADD's ACCESS EXCLUSIVE lock
		// ends before VALIDATE scans under one that lets writes through.
		"NotValidThenValidate": {
			"-- +goose Up\nALTER TABLE users ADD CONSTRAINT users_age_adult CHECK (age >= 18) NOT VALID;\n\n" +
				"-- +goose Down\nALTER TABLE users DROP CONSTRAINT users_age_adult;\n",
			"-- +goose Up\nALTER TABLE users VALIDATE CONSTRAINT users_age_adult;\n\n-- +goose Down\nSELECT 1;\n",
		},
		"Ignored": {"-- +goose Up\n-- The table is new in this release: no client writes it yet.\n-- squawk-ignore require-concurrent-index-creation\n" +
			"CREATE INDEX users_age_name_idx ON users (age, name);\n\n-- +goose Down\n-- squawk-ignore require-concurrent-index-deletion\nDROP INDEX users_age_name_idx;\n"},
	}
	for name, sqls := range safe {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir, _ := withMigrations(t, sqls...)
			ok, out := lint(t, dir)
			require.True(t, ok, "make lint failed:\n%s", out)
		})
	}
}
