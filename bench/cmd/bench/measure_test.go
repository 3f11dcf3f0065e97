package main

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// A measurement of many calls warms up first with indexes after the timed
// ones (so that writes stay unique), and counts only the timed calls; a bulk
// load runs once, untimed calls none.
func TestMeasureWarmsUpBeforeTheClock(t *testing.T) {
	db := &database{counter: &counter{}}
	var calls []int
	m := measure(db, 3, func(i int) error {
		calls = append(calls, i)
		db.counter.n.Add(1) // one statement per call
		return nil
	})
	require.NoError(t, m.err)
	want := []int{}
	for i := range warmUp {
		want = append(want, 3+i)
	}
	require.Equal(t, append(want, 0, 1, 2), calls)
	require.Equal(t, 1.0, m.roundTrips, "the warm-up's statements are not counted")

	calls = nil
	require.NoError(t, measure(db, 1, func(i int) error { calls = append(calls, i); return nil }).err)
	require.Equal(t, []int{0}, calls)
}

// -bulk-rounds runs the bulk loads in fewer rounds than a pass has, never
// more, and the report says so.
func TestBulkRounds(t *testing.T) {
	all := config{}
	require.Equal(t, 10, all.bulkRoundsOf(10))
	require.Empty(t, all.bulkNote(10))
	three := config{bulkRounds: 3}
	require.Equal(t, 3, three.bulkRoundsOf(10))
	require.Equal(t, 2, three.bulkRoundsOf(2))
	require.Equal(t, " (the bulk loads: 3 rounds)", three.bulkNote(10))
	require.Empty(t, three.bulkNote(2))
	require.True(t, slices.ContainsFunc(operations(sizesOf(false, false)), operation.isLoad))
	require.False(t, slices.ContainsFunc(operations(sizesOf(false, false)), func(op operation) bool {
		return op.isLoad() && op.n != 1
	}), "a bulk load runs once per measurement")
}
