package repo_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOnlyRepoImportsDBGen keeps the house's one-way flow: cmd -> repo ->
// dbgen -> pgx. The generated queries are the repository's to compose; a
// command or another package that imports them skips its routing, round trips
// and typed errors. The rule covers every package of this module and the
// bench module, their tests included.
func TestOnlyRepoImportsDBGen(t *testing.T) {
	t.Parallel()
	const dbgen = "github.com/inkwell-dev/inkwell/internal/dbgen"
	allowed := []string{"github.com/inkwell-dev/inkwell/internal/repo", dbgen}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	for _, module := range []string{root, filepath.Join(root, "bench")} {
		cmd := exec.Command("go", "list", "-e",
			"-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, "./...")
		cmd.Dir = module
		out, err := cmd.Output()
		require.NoError(t, err, "go list in %s", module)
		var packages int
		for line := range strings.Lines(string(out)) {
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			packages++
			pkg, imports := fields[0], fields[1:]
			if slices.Contains(allowed, pkg) {
				continue
			}
			require.NotContains(t, imports, dbgen,
				"package %s imports internal/dbgen: go through internal/repo (only it may use the generated queries)", pkg)
		}
		require.NotZero(t, packages, "go list found no package in %s", module)
	}
}

// TestDocMapsEveryFile keeps the package doc's map of files (doc.go) true:
// every file it names exists, and every non-test file of the package is
// named, so a file added, split or renamed is placed in the map by whoever
// makes it.
func TestDocMapsEveryFile(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	named := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b[a-z0-9_]+\.go\b`).FindAllString(string(doc), -1) {
		named[m] = true
		_, err := os.Stat(m)
		require.NoError(t, err, "doc.go names %s, which is not in internal/repo: update the map", m)
	}
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "doc.go" {
			continue
		}
		require.True(t, named[f], "doc.go does not name %s: add it to the map of files, under its layer", f)
	}
}
