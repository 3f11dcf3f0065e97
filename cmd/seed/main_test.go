package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const tutorialOutput = `User: Hannah, Age: 29
Email: hannah@example.com
Email: hannah@work.com

Alice: First Post - This is my first post!
Bob: Lazy or eager? - Load related rows in one round trip.
Charlie: Pools - Size the pool for the work, not the hope.
Eve: Sessions - Commit before you close.
`

func seedRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// counts returns the number of rows of each seeded table.
func counts(t *testing.T, url string) map[string]int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	n := map[string]int{}
	for _, table := range []string{"users", "addresses", "posts", "tags", "post_tags"} {
		var c int
		require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&c))
		n[table] = c
	}
	return n
}

func TestSeed(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)

	code, out, errOut := seedRun(t, "--database-url", url)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, tutorialOutput, out)
	require.Contains(t, errOut, "tutorial people: 8 added")
	first := counts(t, url)
	require.Equal(t, map[string]int{"users": 8, "addresses": 10, "posts": 4, "tags": 3, "post_tags": 5}, first)

	code, out, errOut = seedRun(t, "--database-url", url)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, tutorialOutput, out, "the second run prints the same")
	require.Contains(t, errOut, "tutorial people: 0 added, 8 already there")
	require.Equal(t, first, counts(t, url), "and adds no duplicate")

	code, out, errOut = seedRun(t, "--database-url", url, "--users", "2500", "--batch-size", "1000")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, tutorialOutput, out)
	require.Contains(t, errOut, "generated users: 1000/2500\n")
	require.Contains(t, errOut, "generated users: 2500/2500\n")
	require.Equal(t, 8+2500, counts(t, url)["users"])
}

func TestSeedFromEnvironment(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.URL(t))
	code, out, errOut := seedRun(t)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, tutorialOutput, out)
}

func TestSeedBadInput(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	const secret = "hunter2-s3cret"
	cases := map[string]struct {
		args    []string
		code    int
		message string
	}{
		"ErrNoDatabase":    {nil, 2, "no database: set DATABASE_URL or pass --database-url"},
		"ErrUnknownFlag":   {[]string{"--nope"}, 2, "flag provided but not defined: -nope"},
		"ErrNegativeUsers": {[]string{"--database-url", "postgres://x@localhost/db", "--users", "-3"}, 2, "--users -3: must not be negative"},
		"ErrBatchSize":     {[]string{"--database-url", "postgres://x@localhost/db", "--batch-size", "0"}, 2, "--batch-size 0"},
		"ErrExtraArg":      {[]string{"--database-url", "postgres://x@localhost/db", "extra"}, 2, `unexpected argument "extra"`},
		"ErrMalformedURL":  {[]string{"--database-url", "postgres://bob:" + secret + "@localhost:port/db"}, 1, "invalid input: database URL"},
		"ErrUnreachable":   {[]string{"--database-url", "postgres://bob:" + secret + "@127.0.0.1:1/db?connect_timeout=2"}, 1, "connect: "},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := seedRun(t, tc.args...)
			require.Equal(t, tc.code, code)
			require.Empty(t, out)
			require.Contains(t, errOut, tc.message)
			require.NotContains(t, errOut, secret)
		})
	}
}

func TestSeedHelp(t *testing.T) {
	code, out, errOut := seedRun(t, "--help")
	require.Equal(t, 0, code)
	require.Empty(t, out)
	for _, flag := range []string{"-database-url", "-users", "-batch-size", "-pool-size"} {
		require.True(t, strings.Contains(errOut, flag), "--help documents %s", flag)
	}
}
