package main

import (
	"bytes"
	"context"
	"io/fs"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/db"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func runMigrate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runMigrateFS(t, db.Migrations(), args...)
}

func runMigrateFS(t *testing.T, fsys fs.FS, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runFS(context.Background(), fsys, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestUpDownStatus rolls back the last migration and applies it again, on
// the embedded migrations and on those a user grew by one (pgtest.Grown): the
// names come from the migrations, so a new one changes nothing here.
func TestUpDownStatus(t *testing.T) {
	t.Parallel()
	grown, _ := pgtest.Grown(t)
	for name, schema := range map[string]struct {
		fsys fs.FS
		url  func(testing.TB) string
	}{
		"Embedded": {db.Migrations(), pgtest.URL},
		"Grown":    {grown, pgtest.GrownURL},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			url := schema.url(t) // migrated already
			names, _ := pgtest.Migrations(t, schema.fsys)
			last := names[len(names)-1]

			code, out, errOut := runMigrateFS(t, schema.fsys, "-database-url", url, "up")
			require.Equal(t, 0, code, errOut)
			require.Equal(t, "no pending migrations\n", out)

			code, out, errOut = runMigrateFS(t, schema.fsys, "-database-url", url, "down")
			require.Equal(t, 0, code, errOut)
			require.Contains(t, out, "down "+last)

			code, out, _ = runMigrateFS(t, schema.fsys, "-database-url", url, "status")
			require.Equal(t, 0, code)
			for _, n := range names[:len(names)-1] {
				require.Regexp(t, regexp.QuoteMeta(n)+`\s+applied`, out)
			}
			require.Regexp(t, regexp.QuoteMeta(last)+`\s+pending`, out)

			code, out, _ = runMigrateFS(t, schema.fsys, "-database-url", url, "up")
			require.Equal(t, 0, code)
			require.Contains(t, out, "up "+last)
		})
	}
}

func TestBadInput(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	const secret = "hunter2-s3cret"
	cases := map[string]struct {
		args    []string
		code    int
		message string
	}{
		"ErrNoCommand":     {nil, 2, "usage: migrate"},
		"ErrUnknown":       {[]string{"-database-url", "postgres://x@localhost/db", "sideways"}, 2, "usage: migrate"},
		"ErrNoDatabase":    {[]string{"up"}, 1, "no database: set DATABASE_URL or pass -database-url"},
		"ErrMigrationName": {[]string{"create", "Drop Table"}, 1, `migration name "Drop Table"`},
		"ErrMalformedURL": {[]string{"-database-url", "postgres://bob:" + secret + "@" + secret + "@localhost:port/db", "up"},
			1, "invalid input: database URL: invalid port"},
		"ErrUnreachable": {[]string{"-database-url", "postgres://bob:" + secret + "@127.0.0.1:1/db?connect_timeout=2", "up"},
			1, "connection refused"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := runMigrate(t, tc.args...)
			require.Equal(t, tc.code, code)
			require.Contains(t, errOut, tc.message)
			require.NotContains(t, errOut, secret)
		})
	}
}
