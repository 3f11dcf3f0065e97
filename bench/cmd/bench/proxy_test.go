package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// echoServer answers every line with itself.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func dialProxy(t *testing.T, rtt time.Duration) (*latencyProxy, net.Conn, *bufio.Reader) {
	t.Helper()
	p, err := startProxy("tcp", echoServer(t), rtt)
	require.NoError(t, err)
	t.Cleanup(p.close)
	c, err := net.Dial("tcp", p.addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return p, c, bufio.NewReader(c)
}

// exchange sends n lines, one at a time waiting for each answer, or all at
// once (pipelined) and then reads the answers; it checks that they come
// back whole and in order, and returns how long it took.
func exchange(t *testing.T, c net.Conn, r *bufio.Reader, n int, pipelined bool) time.Duration {
	t.Helper()
	start := time.Now()
	expect := func(i int) {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("message %d\n", i), line)
	}
	for i := range n {
		_, err := fmt.Fprintf(c, "message %d\n", i)
		require.NoError(t, err)
		if !pipelined {
			expect(i)
		}
	}
	if pipelined {
		for i := range n {
			expect(i)
		}
	}
	return time.Since(start)
}

// TestLatencyProxy checks the proxy by ratios of times taken in the same
// run, and by its count of round trips, never by a wall-clock bound.
func TestLatencyProxy(t *testing.T) {
	t.Parallel()

	t.Run("PipelinedTrafficIsNotSerialised", func(t *testing.T) {
		// An RTT long enough that the client's writes in a row all leave
		// before the first answer, even when it waits for a core meanwhile.
		const n = 20
		p, c, r := dialProxy(t, 10*time.Millisecond)
		before := p.trips.Load()
		sequential := exchange(t, c, r, n, false)
		require.EqualValues(t, n, p.trips.Load()-before, "each wait for an answer is a round trip")
		before = p.trips.Load()
		pipelined := exchange(t, c, r, n, true)
		require.EqualValues(t, 1, p.trips.Load()-before, "writes in a row are one round trip")
		// n RTTs against about one: a proxy that delayed chunk after chunk
		// would make the two alike.
		require.Greater(t, float64(sequential)/float64(pipelined), n/4.0,
			"sequential %v, pipelined %v", sequential, pipelined)
	})

	// A round trip through the proxy never takes less than its RTT, whatever
	// the RTT: only a lower bound, which a busy machine cannot break (it can
	// only make a round trip slower, so no upper bound is asserted).
	t.Run("DelayFollowsTheRTT", func(t *testing.T) {
		for _, rtt := range []time.Duration{time.Millisecond, 4 * time.Millisecond} {
			_, c, r := dialProxy(t, rtt)
			for range 5 {
				took := exchange(t, c, r, 1, false)
				require.GreaterOrEqual(t, took, rtt, "a round trip at %v RTT took %v", rtt, took)
			}
		}
	})

	t.Run("ClosingEndsBothSides", func(t *testing.T) {
		_, c, r := dialProxy(t, time.Millisecond)
		exchange(t, c, r, 1, false)
		require.NoError(t, c.(*net.TCPConn).CloseWrite())
		_, err := r.ReadByte()
		require.ErrorIs(t, err, io.EOF, "the server's side closed after the client's")
	})
}
