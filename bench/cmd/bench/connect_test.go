package main

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConnectTimeout: a server that accepts and never answers makes the run
// give up after the connect bound, not wait forever; a URL's own
// connect_timeout is kept.
func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})

	kept, err := boundConnect("postgres://bob@host/db?connect_timeout=3")
	require.NoError(t, err)
	require.Contains(t, kept, "connect_timeout=3")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{databaseURL: "postgres://bob@" + ln.Addr().String() + "/db?sslmode=disable",
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
