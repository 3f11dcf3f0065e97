package faults_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

const secret = "Tr0ub4dor-and-3"

// TestPasswordsStayOutOfErrors connects with passwords in the URL to a
// server that checks them (scram), and to places that are not servers: no
// error, no log line, no help text of ours shows the password.
func TestPasswordsStayOutOfErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := pgtest.StartCluster(t, pgtest.Throwaway)
	pgtest.CreateDatabase(t, c, "inkwell")
	conn := admin(t, c)
	_, err := conn.Exec(ctx, fmt.Sprintf("CREATE ROLE careful LOGIN PASSWORD '%s'", "right-"+secret))
	require.NoError(t, err)
	// Password authentication for this role over TCP (the first matching line wins).
	hba := filepath.Join(c.Dir, "data", "pg_hba.conf")
	old, err := os.ReadFile(hba)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(hba, append([]byte("host all careful 127.0.0.1/32 scram-sha-256\n"), old...), 0o600))
	_, err = conn.Exec(ctx, "SELECT pg_reload_conf()")
	require.NoError(t, err)
	port, err := c.Port()
	require.NoError(t, err)

	urls := map[string]string{
		"WrongPassword": fmt.Sprintf("postgres://careful:%s@127.0.0.1:%d/inkwell?sslmode=disable", secret, port),
		"Unreachable":   fmt.Sprintf("postgres://careful:%s@127.0.0.1:1/inkwell?connect_timeout=2", secret),
		"Malformed":     fmt.Sprintf("postgres://careful:%s@127.0.0.1:port/inkwell", secret),
		"KeyValue":      fmt.Sprintf("host=127.0.0.1 port=%d user=careful password=%s dbname=inkwell sslmode=disable", port, secret),
		// Malformed strings fool pgx's masking: what follows an @ or an
		// escaped space in the password was shown.
		"MalformedAtInPassword":  fmt.Sprintf("postgres://careful:x@%s@127.0.0.1:port/inkwell", secret),
		"MalformedEscapedSpace":  fmt.Sprintf(`host=127.0.0.1 port=port user=careful password=x\ %s dbname=inkwell`, secret),
		"MalformedUnquotedSpace": fmt.Sprintf("host=127.0.0.1 user=careful password=x %s dbname=inkwell", secret),
	}
	seed := filepath.Join(t.TempDir(), "seed")
	out, err := exec.Command("go", "build", "-o", seed, "../../cmd/seed").CombinedOutput()
	require.NoError(t, err, "%s", out)

	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := repo.OpenPool(ctx, url, repo.PoolConfig{})
			require.Error(t, err)
			require.NotContains(t, err.Error(), secret)

			var stderr bytes.Buffer
			cmd := exec.Command(seed, "--database-url", url)
			cmd.Stderr = &stderr
			require.Error(t, cmd.Run())
			require.NotContains(t, stderr.String(), secret)
			require.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %s", stderr.String())
		})
	}

	t.Run("RightPassword", func(t *testing.T) {
		t.Parallel()
		url := strings.Replace(urls["WrongPassword"], secret, "right-"+secret, 1)
		pool, err := repo.OpenPool(ctx, url, repo.PoolConfig{})
		require.NoError(t, err, "the server does check passwords: this one is right")
		pool.Close()
	})

	t.Run("Help", func(t *testing.T) {
		t.Parallel()
		var stderr bytes.Buffer
		cmd := exec.Command(seed, "--help")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+urls["WrongPassword"])
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Run())
		require.Contains(t, stderr.String(), "-database-url")
		require.NotContains(t, stderr.String(), secret)
	})
}
