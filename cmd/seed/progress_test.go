package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// TestInitialLoadProgressLines: an initial load's progress in a log (no
// terminal) says each thing once, each line measuring what it names: a
// table's copying line gives that table's own rows (as counted after the
// load), the last the copy's total and rate; a key, index, foreign key or
// ANALYZE line the time that step took, no rate of rows.
func TestInitialLoadProgressLines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	// Parts of about 4 MiB: enough users that some table takes several.
	code, _, errOut := seedRun(t, "--database-url", url, "--users", "30000", "--seed", "41", "--tags", "30")
	require.Equal(t, 0, code, errOut)

	// What a line is about comes before its first colon ("users 30008/30008
	// (100%)", "copying 2/7"); its figures after it may change.
	seen := map[string]bool{}
	for line := range strings.Lines(errOut) {
		about, _, _ := strings.Cut(line, ":")
		require.False(t, seen[about], "said twice: %q\n%s", about, errOut)
		seen[about] = true
	}

	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	copying := regexp.MustCompile(`(?m)^copying (\d+)/(\d+): (\w+) done, (\d+) rows(; (\d+) tables: (\d+) rows in \S+, \d+ rows/s \(the server waited \S+ for the client\))?$`)
	lines := copying.FindAllStringSubmatch(errOut, -1)
	require.NotEmpty(t, lines, errOut)
	var total int64
	for i, m := range lines {
		require.Equal(t, strconv.Itoa(i+1), m[1])
		require.Equal(t, strconv.Itoa(len(lines)), m[2])
		var rows int64
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{m[3]}.Sanitize()).Scan(&rows))
		require.Equal(t, strconv.FormatInt(rows, 10), m[4], "the rows of %s alone: %s", m[3], m[0])
		total += rows
		if i < len(lines)-1 {
			require.Empty(t, m[5], m[0])
		} else {
			require.Equal(t, m[2], m[6], "the last line sums every table: %s", m[0])
			require.Equal(t, strconv.FormatInt(total, 10), m[7], "the last line sums every table: %s", m[0])
		}
	}

	steps := regexp.MustCompile(`(?m)^(building indexes|adding foreign keys|analyzing) \d+/\d+: .*$`).FindAllString(errOut, -1)
	require.NotEmpty(t, steps, errOut)
	for _, phase := range []string{"building indexes", "adding foreign keys", "analyzing"} {
		require.Contains(t, errOut, "\n"+phase+" 1/")
	}
	for _, line := range steps {
		require.Regexp(t, `: \S+( \S+)* done in \d+(\.\d+)?(µs|ms|s)$`, line)
		require.NotContains(t, line, "rows", "a build's time, not a rate of rows: %s", line)
	}
	require.Equal(t, 1, strings.Count(errOut, "users 30008/30008 (100%)"), errOut)
}
