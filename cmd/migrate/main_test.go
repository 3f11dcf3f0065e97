package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func runMigrate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUpDownStatus(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t) // migrated already

	code, out, errOut := runMigrate(t, "-database-url", url, "up")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "no pending migrations\n", out)

	code, out, errOut = runMigrate(t, "-database-url", url, "down")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "down 00002_create_blog.sql")

	code, out, _ = runMigrate(t, "-database-url", url, "status")
	require.Equal(t, 0, code)
	require.Regexp(t, `00001_create_users.sql\s+applied`, out)
	require.Regexp(t, `00002_create_blog.sql\s+pending`, out)

	code, out, _ = runMigrate(t, "-database-url", url, "up")
	require.Equal(t, 0, code)
	require.Contains(t, out, "up 00002_create_blog.sql")
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
