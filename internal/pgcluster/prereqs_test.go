package pgcluster_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPrereqs runs .ci/prereqs, the first step of make test: on this machine,
// which runs the tests, nothing is missing and it says nothing; with the C
// compiler gone (CC names none) and installing turned off, it fails at once
// and names the package to install.
func TestPrereqs(t *testing.T) {
	t.Parallel()
	run := func(env ...string) (code int, stdout, stderr string) {
		cmd := exec.Command("../../.ci/prereqs")
		cmd.Env = append(os.Environ(), env...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), out.String(), errOut.String()
		}
		require.NoError(t, err)
		return 0, out.String(), errOut.String()
	}

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := run()
		require.Equal(t, 0, code, errOut)
		require.Empty(t, out+errOut)
	})
	t.Run("ErrNoCompiler", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := run("CC=/nonexistent/cc", "INKWELL_NO_INSTALL=1")
		require.Equal(t, 1, code)
		require.Empty(t, out)
		require.Contains(t, errOut, "prereqs: missing: gcc")
		require.Contains(t, errOut, "install")
	})
}
