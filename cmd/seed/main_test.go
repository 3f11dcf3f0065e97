package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/db"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// asSeed, in the environment, makes the test binary run as the seed
// command (mainFS) instead of the tests: "embedded" with this binary's
// migrations, "grown" with pgtest.Grown's (see seedCommand).
const asSeed = "INKWELL_TEST_AS_SEED"

func TestMain(m *testing.M) {
	switch os.Getenv(asSeed) {
	case "":
		pgtest.Main(m)
	case "grown":
		fsys, _, err := pgtest.GrownMigrations()
		if err != nil {
			fmt.Fprintln(os.Stderr, "seed:", err)
			os.Exit(2)
		}
		os.Exit(mainFS(fsys))
	default:
		os.Exit(mainFS(db.Migrations()))
	}
}

// seedCommand is the seed command as a process, with the migrations of a
// database made by pgtest.GrownURL when grown, else pgtest.URL's.
func seedCommand(grown bool, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	which := "embedded"
	if grown {
		which = "grown"
	}
	cmd.Env = append(os.Environ(), asSeed+"="+which)
	return cmd
}

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
	code = run(context.Background(), args, &out, &errOut, false)
	return code, out.String(), errOut.String()
}

// seedRunGrown is seedRun on a database made by pgtest.GrownURL: the seed
// knows the migration a user added, as one built after adding it does.
func seedRunGrown(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	grown, _ := pgtest.Grown(t)
	var out, errOut bytes.Buffer
	code = runFS(context.Background(), grown, args, &out, &errOut, false)
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

	code, out, errOut = seedRun(t, "--database-url", url, "--users", "2500", "--batch-size", "1000", "--seed", "5")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, tutorialOutput, out, "the tutorial's people are still the first users")
	require.Contains(t, errOut, "users 2500/2500 (100%)")
	require.Regexp(t, `committed 3 batches: users 2500, addresses 5000, profiles \d+, posts 7500, post_tags \d+`, errOut)
	after := counts(t, url)
	require.Equal(t, 8+2500, after["users"])
	require.Equal(t, 10+5000, after["addresses"])
	require.Equal(t, 4+7500, after["posts"])
	require.Equal(t, 3+50, after["tags"])
}

func TestSeedVerbose(t *testing.T) {
	t.Parallel()
	code, out, errOut := seedRun(t, "--database-url", pgtest.URL(t), "--verbose", "--users", "10", "--seed", "1", "--load", "batched")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, tutorialOutput, out)
	registers := "RegisterUser" // one statement; on Citus one per row, the user's first
	if pgtest.Citus() {
		registers = "CreateUser"
	}
	require.Contains(t, errOut, "level=DEBUG msg=query name="+registers+" duration=")
	require.Contains(t, errOut, `msg=copy name="COPY \"users\""`)
	require.Regexp(t, `pool: \{MaxConns:4 TotalConns:\d+ IdleConns:\d+ AcquiredConns:0 AcquireCount:\d+`, errOut)
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
		"ErrNegativeUsers": {[]string{"--database-url", "postgres://x@localhost/db", "--users", "-3"}, 2, "--users -3: must be at least 0"},
		"ErrPostsPerUser":  {[]string{"--posts-per-user", "-1"}, 2, "--posts-per-user -1"},
		"ErrSeed":          {[]string{"--seed", "minus-one"}, 2, `invalid value "minus-one" for flag -seed`},
		"ErrBatchSize":     {[]string{"--database-url", "postgres://x@localhost/db", "--batch-size", "0"}, 2, "--batch-size 0: must be at least 1"},
		"ErrMaintenanceWorkers": {[]string{"--database-url", "postgres://x@localhost/db", "--maintenance-workers", "-2"}, 2,
			"--maintenance-workers -2: must be at least -1"},
		"ErrLoad":         {[]string{"--database-url", "postgres://x@localhost/db", "--load", "fast"}, 2, `--load "fast": must be auto, initial or batched`},
		"ErrExtraArg":     {[]string{"--database-url", "postgres://x@localhost/db", "extra"}, 2, `unexpected argument "extra"`},
		"ErrMalformedURL": {[]string{"--database-url", "postgres://bob:" + secret + "@localhost:port/db"}, 1, "invalid input: database URL"},
		"ErrAtInPassword": {[]string{"--database-url", "postgres://bob:x@" + secret + "@localhost:port/db"}, 1, "invalid input: database URL: invalid port"},
		"ErrSpaceInPassword": {[]string{"--database-url", `host=localhost port=port password=x\ ` + secret}, 1,
			"invalid input: database URL: invalid port"},
		"ErrUnreachable": {[]string{"--database-url", "postgres://bob:" + secret + "@127.0.0.1:1/db?connect_timeout=2"}, 1, "connect: "},
		"ErrUsersNotANumber": {[]string{"--database-url", "postgres://x@localhost/db", "--users", "abc"}, 2,
			`seed: invalid value "abc" for flag -users: parse error (seed --help lists the flags)`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := seedRun(t, tc.args...)
			require.Equal(t, tc.code, code)
			require.Empty(t, out)
			require.Contains(t, errOut, tc.message)
			require.NotContains(t, errOut, secret)
			require.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, "one line:\n%s", errOut)
			require.NotContains(t, errOut, "usage:", "the usage is for --help")
		})
	}
	t.Run("ErrUnreachableSaidOnce", func(t *testing.T) {
		_, _, errOut := seedRun(t, "--database-url", "postgres://bob@127.0.0.1:1/db?connect_timeout=2")
		require.Equal(t, 1, strings.Count(errOut, "connection refused"), errOut)
	})
}

func TestSeedHelp(t *testing.T) {
	code, out, errOut := seedRun(t, "--help")
	require.Equal(t, 0, code)
	require.Empty(t, out)
	for _, flag := range []string{"-database-url", "-users", "-addresses-per-user", "-posts-per-user", "-tags",
		"-seed", "-batch-size", "-reset", "-pool-size", "-verbose", "-load"} {
		require.True(t, strings.Contains(errOut, flag), "--help documents %s", flag)
	}
}

// dump renders every seeded row but the creation times, in id order.
func dump(t *testing.T, url string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var b strings.Builder
	for _, q := range []string{
		"SELECT id, name, age FROM users ORDER BY id",
		"SELECT id, user_id, email FROM addresses ORDER BY id",
		"SELECT user_id, bio, website FROM profiles ORDER BY user_id",
		"SELECT id, user_id, title, content, published, rating FROM posts ORDER BY id",
		"SELECT id, name FROM tags ORDER BY id",
		"SELECT post_id, tag_id FROM post_tags ORDER BY post_id, tag_id",
	} {
		rows, err := conn.Query(ctx, q)
		require.NoError(t, err)
		for rows.Next() {
			values, err := rows.Values()
			require.NoError(t, err)
			fmt.Fprintln(&b, values...)
		}
		require.NoError(t, rows.Err())
	}
	return b.String()
}

func TestSeedIsDeterministic(t *testing.T) {
	t.Parallel()
	args := []string{"--users", "700", "--batch-size", "300", "--tags", "20"}
	seedInto := func(seed string) (url string) {
		url = pgtest.URL(t)
		code, _, errOut := seedRun(t, append(args, "--database-url", url, "--seed", seed)...)
		require.Equal(t, 0, code, errOut)
		return url
	}
	first, second, other := seedInto("99"), seedInto("99"), seedInto("100")
	require.Equal(t, dump(t, first), dump(t, second), "same seed, same data, value for value")
	require.NotEqual(t, dump(t, first), dump(t, other))

	t.Run("ErrSameSeedAgain", func(t *testing.T) {
		before := dump(t, first)
		code, _, errOut := seedRun(t, append(args, "--database-url", first, "--seed", "99")...)
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "conflict")
		require.Contains(t, errOut, "use --reset, or another --seed")
		require.Equal(t, before, dump(t, first), "the failed batch left nothing")
	})

	t.Run("Reset", func(t *testing.T) {
		code, _, errOut := seedRun(t, append(args, "--database-url", second, "--seed", "99", "--reset")...)
		require.Equal(t, 0, code, errOut)
		require.Contains(t, errOut, "reset: every table emptied")
		require.Equal(t, dump(t, first), dump(t, second), "a reset database seeds to the same data")
	})
}

// TestSeedAhead: into a database a newer build migrated (a migration past
// this binary's latest in goose's table) the seed writes nothing: it says
// the database is ahead, naming the migration, and exits 1.
func TestSeedAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	_, versions := pgtest.Migrations(t, db.Migrations())
	latest := versions[len(versions)-1]
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", latest+1)
	require.NoError(t, err)
	before := counts(t, url)

	for _, load := range []string{"auto", "batched"} {
		code, out, errOut := seedRun(t, "--database-url", url, "--users", "10", "--seed", "1", "--load", load)
		require.Equal(t, 1, code, errOut)
		require.Empty(t, out)
		require.Contains(t, errOut, fmt.Sprintf("seed: migrate up: the database is ahead of this binary: migration %d is applied there "+
			"but unknown to this binary (its latest is %d)", latest+1, latest))
		require.Equal(t, before, counts(t, url), "nothing written")
	}
}
