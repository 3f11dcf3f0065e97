package repo_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestContributingQuotesTheSource keeps CONTRIBUTING.md's worked example
// true: every Go and SQL block it shows is in the source as written.
func TestContributingQuotesTheSource(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../CONTRIBUTING.md")
	require.NoError(t, err)
	var source strings.Builder
	for _, pattern := range []string{"*.go", "../../db/queries/*.sql", "../../cmd/seed/*.go", "../../internal/fakedata/*.go",
		"../../internal/migrate/testdata/expand/*.sql"} {
		files, err := filepath.Glob(pattern)
		require.NoError(t, err)
		require.NotEmpty(t, files, pattern)
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			source.Write(b)
		}
	}
	blocks := regexp.MustCompile("(?ms)^```(?:go|sql)\n(.*?)^```$").FindAllSubmatch(doc, -1)
	require.GreaterOrEqual(t, len(blocks), 5, "the worked example is there")
	for _, b := range blocks {
		require.Contains(t, source.String(), string(b[1]), "CONTRIBUTING.md quotes code that is not in internal/repo, db/queries, cmd/seed, internal/fakedata or internal/migrate/testdata/expand")
	}
}
