package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// TestConnectTimeout: a server that accepts and never answers makes the run
// give up after the connect bound, not wait forever; a URL's own
// connect_timeout is kept.
func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	addr := pgtest.SilentServer(t)

	kept, err := boundConnect("postgres://bob@host/db?connect_timeout=3")
	require.NoError(t, err)
	require.Contains(t, kept, "connect_timeout=3")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{databaseURL: "postgres://bob@" + addr + "/db?sslmode=disable",
			rounds: 1, poolSize: 1, syncCommits: []string{"on"}})
	}()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "timeout")
	case <-time.After(30 * time.Second):
		t.Fatal("still waiting for a server that never answers after 30s")
	}
	require.NoError(t, ctx.Err(), "gave up on its own")
}
