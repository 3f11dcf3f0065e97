// Package trips counts round trips on the wire between a client and
// PostgreSQL: what a call costs on a network, where each one is an RTT.
package trips

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
)

// Counter counts round trips on the connections it dials: a round trip
// starts when the client writes after it has heard from the server. Writes
// in a row (a pipeline, a batch) are one round trip, whatever the number of
// statements. It is safe for concurrent use.
type Counter struct{ trips atomic.Int64 }

// Trips returns the round trips counted so far, on every connection.
func (c *Counter) Trips() int64 { return c.trips.Load() }

// Dial is a pgconn DialFunc (pgx's ConnConfig.DialFunc) that counts the
// connection's round trips. Its errors are the dialer's.
func (c *Counter) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: conn, c: c, heard: true}, nil
}

type countedConn struct {
	net.Conn
	c     *Counter
	mu    sync.Mutex
	heard bool // the server has sent something since the client last wrote
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.heard {
		c.c.trips.Add(1)
		c.heard = false
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 { // a liveness check's empty read is no answer
		c.mu.Lock()
		c.heard = true
		c.mu.Unlock()
	}
	return n, err
}
