package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The report replaces only its own section: hand-written text before and
// after it, and other sections, stay byte for byte.
func TestSpliceKeepsWhatItDoesNotOwn(t *testing.T) {
	t.Parallel()
	begin, end := markers("report")
	otherBegin, otherEnd := markers("other")
	cases := []struct {
		name, doc, want string
	}{
		{"NewFile", "", begin + "new\n" + end},
		{"Replaced", "# Title\n\n" + begin + "old\nlines\n" + end + "\n## By hand\n\nkept\n",
			"# Title\n\n" + begin + "new\n" + end + "\n## By hand\n\nkept\n"},
		{"OtherSectionKept", begin + "old\n" + end + otherBegin + "theirs\n" + otherEnd,
			begin + "new\n" + end + otherBegin + "theirs\n" + otherEnd},
		{"AppendedWhenMissing", "## By hand\nkept", "## By hand\nkept\n\n" + begin + "new\n" + end},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := splice([]byte(tc.doc), "report", "new\n")
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}

	broken := map[string]string{
		"NoEnd":     begin + "old\n## By hand\n",
		"NoBegin":   "## By hand\n" + end,
		"Reversed":  end + "old\n" + begin,
		"TwoBegins": begin + begin + "old\n" + end,
	}
	for name, doc := range broken {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := splice([]byte(doc), "report", "new\n")
			require.ErrorIs(t, err, errMarkers)
		})
	}
}

// spliceFile writes through to the file; a file with broken markers is
// refused before the run (checkReportFile) and left as it was.
func TestSpliceFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	require.NoError(t, checkReportFile(path, "report"), "a missing file is fine")
	require.NoError(t, spliceFile(path, "report", "first\n"))
	require.NoError(t, os.WriteFile(path, append(read(t, path), "\n## By hand\n"...), 0o644))
	require.NoError(t, spliceFile(path, "report", "second\n"))
	begin, end := markers("report")
	require.Equal(t, begin+"second\n"+end+"\n## By hand\n", string(read(t, path)))

	require.NoError(t, os.WriteFile(path, []byte(begin+"no end\n"), 0o644))
	require.ErrorIs(t, checkReportFile(path, "report"), errMarkers)
	require.ErrorIs(t, spliceFile(path, "report", "third\n"), errMarkers)
	require.Equal(t, begin+"no end\n", string(read(t, path)))
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// make bench's report replaces its section only: the hand-written bench-seed
// figures after it stay, and each table's heading names its
// synchronous_commit.
func TestWriteReportKeepsHandWrittenSections(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	begin, end := markers("report")
	seed := "\n## Seeding: `make bench-seed`\n\nWritten by hand.\n"
	require.NoError(t, os.WriteFile(path, []byte("# Benchmarks\n\n"+begin+"an old report\n"+end+seed), 0o644))

	cfg := config{rounds: 3, rtt: time.Millisecond, rttRounds: 3, syncCommits: []string{"on", "off"}, out: path, section: "report"}
	rows := []row{{op: "get a user by id", peer: "pgx", perOp: time.Millisecond, ratio: 1}}
	require.NoError(t, writeReport(cfg, rows, []rttTable{{"on", rows}, {"off", rows}}, "test server"))

	doc := string(read(t, path))
	require.True(t, strings.HasPrefix(doc, "# Benchmarks\n\n"+begin), doc)
	require.True(t, strings.HasSuffix(doc, end+seed), "the hand-written section is kept:\n%s", doc)
	require.NotContains(t, doc, "an old report")
	for _, heading := range []string{"## On loopback, synchronous_commit on\n", "## At 1ms round trip time, synchronous_commit on\n",
		"## At 1ms round trip time, synchronous_commit off\n"} {
		require.Contains(t, doc, heading)
	}
	require.Contains(t, doc, "`bench -rounds 3 -rtt 1ms -rtt-rounds 3 -synchronous-commit on,off`")
}
