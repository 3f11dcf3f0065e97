package main

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// A pgx batch (inkwell's select-in loads, BEGIN with a transaction's first
// statement) is one round trip on loopback's count, whatever its statements;
// a counter that did not trace batches counted it as none.
func TestCounterCountsABatchOnce(t *testing.T) {
	t.Parallel()
	c := &counter{}
	bt, ok := any(c).(pgx.BatchTracer)
	require.True(t, ok, "the counter sees batches")
	ctx := bt.TraceBatchStart(context.Background(), nil, pgx.TraceBatchStartData{})
	for range 4 {
		bt.TraceBatchQuery(ctx, nil, pgx.TraceBatchQueryData{})
	}
	bt.TraceBatchEnd(ctx, nil, pgx.TraceBatchEndData{})
	require.EqualValues(t, 1, c.n.Load())
}
