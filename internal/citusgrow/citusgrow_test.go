package citusgrow

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestP99: the 99th percentile is the value that 99% of the calls took at
// most (nearest rank), 0 for no calls.
func TestP99(t *testing.T) {
	t.Parallel()
	require.Zero(t, P99(nil))
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	require.Equal(t, 99*time.Millisecond, P99(ds))
	require.Equal(t, 7*time.Millisecond, P99([]time.Duration{7 * time.Millisecond}))
}

// TestClients: each call runs at its period until Stop, its times go to
// the phase they started in, its errors are kept, and every call gets its
// deadline.
func TestClients(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	var noDeadline atomic.Int64
	c := Start([]Call{
		{Name: "ok", Do: func(ctx context.Context, i int) error {
			if _, ok := ctx.Deadline(); !ok {
				noDeadline.Add(1)
			}
			n.Add(1)
			return nil
		}},
		{Name: "fails", Do: func(context.Context, int) error { return errors.New("no") }},
	}, time.Millisecond, time.Minute)
	require.Eventually(t, func() bool { return n.Load() >= 3 }, time.Minute, time.Millisecond)
	c.During.Store(true)
	before := n.Load()
	require.Eventually(t, func() bool { return n.Load() >= before+3 }, time.Minute, time.Millisecond)
	c.Stop()
	c.Stop()
	require.Equal(t, "ok", c.Calls[0].Name)
	require.NotEmpty(t, c.Calls[0].Times[0])
	require.NotEmpty(t, c.Calls[0].Times[1])
	require.Equal(t, n.Load(), int64(len(c.Calls[0].Times[0])+len(c.Calls[0].Times[1])))
	require.Empty(t, c.Calls[0].Failed)
	require.Equal(t, len(c.Calls[1].Times[0])+len(c.Calls[1].Times[1]), len(c.Calls[1].Failed))
	require.Contains(t, c.Calls[1].Failed, "no")
	require.Zero(t, noDeadline.Load(), "calls without their deadline")
}
