package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// TestInterrupt sends SIGINT (and SIGTERM) to the built binary once a batch
// has committed, and checks that it stops with the shell's exit code, says
// what it committed, and left exactly the committed batches.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "seed")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)

	for _, tc := range []struct {
		signal syscall.Signal
		code   int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tc.signal.String(), func(t *testing.T) {
			t.Parallel()
			url := pgtest.URL(t)
			const batch = 5000
			cmd := exec.Command(bin, "--database-url", url, "--users", "1000000", "--load", "batched",
				"--batch-size", strconv.Itoa(batch), "--seed", "3")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill() })

			ctx := context.Background()
			conn, err := pgx.Connect(ctx, url)
			require.NoError(t, err)
			defer conn.Close(ctx)
			users := func() int {
				var n int
				require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n))
				return n
			}
			deadline := time.Now().Add(2 * time.Minute)
			for users() <= len(tutorialPeople) {
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					_ = cmd.Wait() // stderr is ours to read only once the process is gone
					t.Fatalf("no batch committed; stderr:\n%s", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			require.NoError(t, cmd.Process.Signal(tc.signal))
			err = cmd.Wait()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "stderr:\n%s", stderr.String())
			require.Equal(t, tc.code, exit.ExitCode(), "stderr:\n%s", stderr.String())

			log := stderr.String()
			require.Contains(t, log, "seed: interrupted; the batch in progress was rolled back")
			m := regexp.MustCompile(`committed (\d+) batch(?:es)?: users (\d+), addresses (\d+)`).FindStringSubmatch(log)
			require.NotNil(t, m, log)
			batches, _ := strconv.Atoi(m[1])
			committed, _ := strconv.Atoi(m[2])
			require.Positive(t, batches)
			require.Equal(t, batches*batch, committed, "whole batches only")
			require.Equal(t, len(tutorialPeople)+committed, users(), "what it says it committed is there, and nothing more")
			var addresses int
			require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM addresses").Scan(&addresses))
			require.Equal(t, 10+2*committed, addresses)
		})
	}
}
