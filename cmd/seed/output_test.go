package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestProgressLines: a line names its units, users for the count and its
// rate, rows over all tables for the other, both from the start of the load.
func TestProgressLines(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	p := newProgress(&out, 100_000, false)
	clock := p.start
	p.now = func() time.Time { return clock }
	clock = clock.Add(2 * time.Second)
	p.update(repo.BulkResult{Batches: 1, Users: 10_000, Addresses: 20_000, Posts: 20_000})
	clock = clock.Add(time.Second) // sooner than lineEvery: no line
	p.update(repo.BulkResult{Batches: 2, Users: 20_000, Addresses: 40_000, Posts: 40_000})
	require.Equal(t, "users 10000/100000 (10%): 5000 users/s, 25000 rows/s in all tables\n", out.String())

	// The last line: the rows' rate is the summary's (a batched load) or
	// the copying lines' (an initial load, which has copied only users yet),
	// not said twice nor of users' rows alone.
	out.Reset()
	clock = clock.Add(2 * time.Second)
	p.update(repo.BulkResult{Batches: 10, Users: 100_000, Addresses: 200_000, Posts: 200_000})
	require.Equal(t, "users 100000/100000 (100%): 20000 users/s\n", out.String())
}

// TestProgressBarFirstSample: the bar's first rate is measured from the
// start of the load, not over the instant between its first drawing and
// the first batch. At least 200 ms pass before the first batch of 10,000
// users, so no honest rate exceeds 50,000 users/s.
func TestProgressBarFirstSample(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	p := newProgress(&out, 100_000, true)
	time.Sleep(200 * time.Millisecond)
	p.update(repo.BulkResult{Batches: 1, Users: 10_000})
	rates := regexp.MustCompile(`(\d+) users/s`).FindAllStringSubmatch(out.String(), -1)
	require.NotEmpty(t, rates, out.String())
	for _, m := range rates {
		rate, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		require.LessOrEqual(t, rate, 50_000, out.String())
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	for batches, want := range map[int]string{1: "committed 1 batch: ", 2: "committed 2 batches: "} {
		require.True(t, strings.HasPrefix(summary(repo.BulkResult{Batches: batches}, time.Second), want))
	}
}

// TestSeedSecondRunQuiet: an ordinary second run sends no statement that
// fails, so --verbose logs no warning (the tutorial's people are looked up,
// not re-registered into a conflict).
func TestSeedSecondRunQuiet(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	for run := range 2 {
		code, out, errOut := seedRun(t, "--database-url", url, "--verbose", "--users", "10", "--seed", strconv.Itoa(run+1))
		require.Equal(t, 0, code, errOut)
		require.Equal(t, tutorialOutput, out)
		require.NotContains(t, errOut, "level=WARN", "run %d", run+1)
	}
	_, _, errOut := seedRun(t, "--database-url", url, "--users", "10", "--seed", "3")
	require.Contains(t, errOut, "tutorial people: 0 added, 8 already there")
	require.Contains(t, errOut, "committed 1 batch: users 10,")
}

// TestSeedGrownSchema: with a table a user added (pgtest.Grown: comments
// whose reference to their post does not cascade), the seed, --reset included,
// works as before, and --reset empties the new table too.
func TestSeedGrownSchema(t *testing.T) {
	t.Parallel()
	url := pgtest.GrownURL(t)
	args := []string{"--database-url", url, "--users", "300", "--batch-size", "100", "--seed", "11"}
	code, out, errOut := seedRunGrown(t, args...)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, tutorialOutput, out)
	seeded := dump(t, url)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (user_id, post_id, body)
		SELECT p.user_id, p.id, 'Nice' FROM posts p`, pgtest.GrownTable))
	require.NoError(t, err)

	code, out, errOut = seedRunGrown(t, append(args, "--reset")...)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "reset: every table emptied")
	require.Equal(t, tutorialOutput, out)
	require.Equal(t, seeded, dump(t, url), "the same data again, ids from 1")
	var comments int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+pgtest.GrownTable).Scan(&comments))
	require.Zero(t, comments)
}
