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
	require.True(t, strings.HasPrefix(url, "postgres://inkwell_app@127.0.0.1:"), url)
	require.True(t, strings.HasSuffix(url, "/inkwell?sslmode=disable"), url)

	// The app role uses rows; the owner changes the schema.
	ctx := context.Background()
	app, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	_, err = app.Exec(ctx, "CREATE TABLE nope (id int)")
	require.ErrorContains(t, err, "permission denied for schema public")
	require.NoError(t, app.Close(ctx))
	code, ownerURL, _ := devdb(t, "-dir", dir, "url", "owner")
	require.Equal(t, 0, code)
	owner, err := pgx.Connect(ctx, strings.TrimSpace(ownerURL))
	require.NoError(t, err)
	_, err = owner.Exec(ctx, "CREATE TABLE yes (id int)")
	require.NoError(t, err)
	// Durable, and without replicas: a load into tables emptied in its
	// transaction writes its rows and indexes once, not also to the WAL.
	var fsync, walLevel string
	require.NoError(t, owner.QueryRow(ctx, "SELECT current_setting('fsync'), current_setting('wal_level')").Scan(&fsync, &walLevel))
	require.Equal(t, []string{"on", "minimal"}, []string{fsync, walLevel})
	require.NoError(t, owner.Close(ctx))

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
	for _, args := range [][]string{nil, {"launch"}, {"start", "extra"}, {"url", "root"}} {
		code, _, errOut := devdb(t, args...)
		require.Equal(t, 2, code, "%q", args)
		require.Contains(t, errOut, "usage: devdb")
	}
	// A bad flag is one line, as in every command (internal/cli); --help
	// prints the usage and the flags.
	code, _, errOut := devdb(t, "-nope")
	require.Equal(t, 2, code)
	require.Equal(t, "devdb: flag provided but not defined: -nope (devdb --help lists the flags)\n", errOut)
	code, _, errOut = devdb(t, "-help")
	require.Equal(t, 0, code)
	require.Contains(t, errOut, "usage: devdb")
	require.Contains(t, errOut, "-dir")
}
