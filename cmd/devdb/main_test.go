package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func devdb(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestLifecycle starts a cluster in a new folder, connects to it, and stops
// it, the way make db and make db-stop do.
func TestLifecycle(t *testing.T) {
	// Not t.TempDir: as root the server runs as postgres, which must be able
	// to enter every parent of the folder.
	dir, err := os.MkdirTemp("", "inkwell-devdb-test-")
	require.NoError(t, err)
	t.Cleanup(func() {
		devdb(t, "-dir", dir, "stop")
		os.RemoveAll(dir)
	})

	code, _, errOut := devdb(t, "-dir", dir, "url")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no PostgreSQL server is running")

	code, url, errOut := devdb(t, "-dir", dir, "start")
	require.Equal(t, 0, code, errOut)
	url = strings.TrimSpace(url)
	require.True(t, strings.HasPrefix(url, "postgres://postgres@127.0.0.1:"), url)

	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	var one int
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT 1").Scan(&one))
	require.NoError(t, conn.Close(context.Background()))

	code, again, _ := devdb(t, "-dir", dir, "start")
	require.Equal(t, 0, code, "starting a running cluster is fine")
	require.Equal(t, url, strings.TrimSpace(again), "and keeps its port")

	code, _, errOut = devdb(t, "-dir", dir, "stop")
	require.Equal(t, 0, code, errOut)
	code, _, _ = devdb(t, "-dir", dir, "url")
	require.Equal(t, 1, code)
	code, _, _ = devdb(t, "-dir", dir, "stop")
	require.Equal(t, 0, code, "stopping a stopped cluster is fine")

	code, restarted, errOut := devdb(t, "-dir", dir, "start")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, url, strings.TrimSpace(restarted), "the data and port survive a restart")
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"launch"}, {"start", "extra"}, {"-nope"}} {
		code, _, errOut := devdb(t, args...)
		require.Equal(t, 2, code, "%q", args)
		require.Contains(t, errOut, "usage: devdb")
	}
}
