package pgcluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCitusMissing: a PostgreSQL without the extension gives ErrNoCitus,
// whose text names the package to install.
func TestCitusMissing(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "15", "bin")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	err := citusInstalledIn(bin)
	require.ErrorIs(t, err, ErrNoCitus)
	require.Contains(t, err.Error(), "postgresql-15-citus-13.2")
	require.Contains(t, err.Error(), "citus.control")
}
