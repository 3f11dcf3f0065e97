package pgtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

// failRecorder is a testing.TB that records Errorf instead of failing.
type failRecorder struct {
	testing.TB
	errors []string
}

func (f *failRecorder) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

// TestClosePoolHeld: a test that leaves rows open fails saying so within
// the bound, instead of hanging its package in the pool's Close.
func TestClosePoolHeld(t *testing.T) {
	t.Parallel()
	pool := PoolFor(t, URL(t))
	rows, err := pool.Query(context.Background(), "SELECT 1")
	require.NoError(t, err)
	t.Cleanup(rows.Close) // after the check below: frees the pool's goroutine

	rec := &failRecorder{TB: t}
	closePool(rec, pool, 200*time.Millisecond) // returns although Close cannot finish yet
	require.Len(t, rec.errors, 1)
	require.Contains(t, rec.errors[0], "1 connection(s) still acquired")
	require.Contains(t, rec.errors[0], "defer rows.Close()")
}

// TestClosePoolReleased: a pool whose connections all came back closes
// without a word.
func TestClosePoolReleased(t *testing.T) {
	t.Parallel()
	pool := PoolFor(t, URL(t))
	require.NoError(t, pool.Ping(context.Background()))
	rec := &failRecorder{TB: t}
	closePool(rec, pool, 5*time.Second)
	require.Empty(t, rec.errors)
}
