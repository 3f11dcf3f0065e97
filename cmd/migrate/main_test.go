package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/db"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
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
		"ErrLockTimeoutZero": {[]string{"-database-url", "postgres://x@localhost/db", "-lock-timeout", "0s", "up"},
			2, "-lock-timeout 0s: must be positive"},
		"ErrLockTimeoutShape": {[]string{"-lock-timeout", "five", "up"}, 2, `invalid value "five" for flag -lock-timeout`},
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

// TestConnectTimeout: a server that accepts and never answers makes every
// subcommand give up after repo.DefaultConnectTimeout (the URL sets no
// connect_timeout), saying so, not wait forever.
func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	url := "postgres://bob@" + pgtest.SilentServer(t) + "/db?sslmode=disable"
	for _, command := range []string{"up", "down", "status"} {
		t.Run(command, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*repo.DefaultConnectTimeout)
			defer cancel()
			var out, errOut bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- runFS(ctx, db.Migrations(), []string{"-database-url", url, command}, &out, &errOut) }()
			select {
			case code := <-done:
				require.Equal(t, 1, code, errOut.String())
				require.Contains(t, errOut.String(), "connect: ")
				require.Contains(t, errOut.String(), "database unavailable: no answer within "+repo.DefaultConnectTimeout.String())
			case <-time.After(3*repo.DefaultConnectTimeout + 5*time.Second):
				t.Fatalf("migrate %s still waiting after %v", command, 3*repo.DefaultConnectTimeout)
			}
			require.NoError(t, ctx.Err(), "gave up on its own, before the test's deadline")
		})
	}
}

// TestAhead: on a database a newer build migrated (versions past this
// binary's latest in goose's table), status lists them as unknown, and
// status, up and down fail naming them, changing nothing.
func TestAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	names, versions := pgtest.Migrations(t, db.Migrations())
	latest := versions[len(versions)-1]
	newer := []int64{latest + 1, latest + 3}
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, v := range newer {
		_, err := conn.Exec(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", v)
		require.NoError(t, err)
	}
	recorded := func() []int64 {
		rows, err := conn.Query(ctx, "SELECT version_id FROM goose_db_version ORDER BY id")
		require.NoError(t, err)
		v, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		require.NoError(t, err)
		return v
	}
	before := recorded()
	message := fmt.Sprintf("the database is ahead of this binary: migrations %d, %d are applied there but unknown to this binary (its latest is %d)",
		newer[0], newer[1], latest)

	code, out, errOut := runMigrate(t, "-database-url", url, "status")
	require.Equal(t, 1, code, errOut)
	require.Contains(t, errOut, message)
	for _, n := range names {
		require.Regexp(t, regexp.QuoteMeta(n)+`\s+applied`, out)
	}
	for _, v := range newer {
		require.Regexp(t, fmt.Sprintf(`version %d\s+applied .*, unknown to this binary`, v), out)
	}

	for command, done := range map[string]string{"up": "nothing applied", "down": "nothing rolled back"} {
		code, out, errOut := runMigrate(t, "-database-url", url, command)
		require.Equal(t, 1, code, errOut)
		require.Empty(t, out, "not %q", "no pending migrations")
		require.Contains(t, errOut, message+": use a build that has them; "+done)
	}
	require.Equal(t, before, recorded(), "nothing applied or rolled back")
}

// TestInvalidIndex: a NO TRANSACTION migration whose concurrent build fails
// (a row its expression cannot index) leaves an INVALID index: up fails
// saying so besides the build's error, and status lists the index and
// fails, until it is dropped.
func TestInvalidIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	fsys, added := pgtest.Plus(t, "-- +goose NO TRANSACTION\n-- +goose Up\n"+
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS users_age_inverse_idx ON users ((1 / (age - 42)));\n\n"+
		"-- +goose Down\nDROP INDEX CONCURRENTLY IF EXISTS users_age_inverse_idx;\n")
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "INSERT INTO users (name, age) VALUES ('Forty-two', 42)")
	require.NoError(t, err)

	code, _, errOut := runMigrateFS(t, fsys, "-database-url", url, "up")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "division by zero")
	require.Contains(t, errOut, "an index is INVALID: users_age_inverse_idx on users: a concurrent build failed; "+
		"drop it (DROP INDEX CONCURRENTLY) and apply its migration again")

	code, out, errOut := runMigrateFS(t, fsys, "-database-url", url, "status")
	require.Equal(t, 1, code)
	require.Regexp(t, regexp.QuoteMeta(added[0])+`\s+pending`, out)
	require.Regexp(t, `index users_age_inverse_idx on users\s+INVALID: a concurrent build failed`, out)
	require.Contains(t, errOut, "an index is INVALID: users_age_inverse_idx on users")

	// IF EXISTS: on Citus a failed build may have left the index on some shards only.
	_, err = conn.Exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS users_age_inverse_idx")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "UPDATE users SET age = 43 WHERE age = 42")
	require.NoError(t, err)
	code, out, errOut = runMigrateFS(t, fsys, "-database-url", url, "up")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "up "+added[0])
	code, out, _ = runMigrateFS(t, fsys, "-database-url", url, "status")
	require.Equal(t, 0, code)
	require.NotContains(t, out, "INVALID")
}
