package repo_test

import (
	"fmt"
	"iter"
	"math"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// bulkLoad loads n fresh rows with opts, counting in reads the rows the load
// took from its iterator.
type bulkLoad func(n int, opts repo.BulkOptions, reads *int) (repo.BulkResult, error)

// bulkMethods are the bulk loads that take BulkOptions. Each prepares what its
// rows need in e (a user for posts) and returns a loader whose rows differ
// from call to call.
var bulkMethods = []struct {
	name    string
	prepare func(t *testing.T, e env) bulkLoad
}{
	{"BulkInsertGraphs", func(_ *testing.T, e env) bulkLoad {
		next := 0
		return func(n int, opts repo.BulkOptions, reads *int) (repo.BulkResult, error) {
			rows := make([]repo.UserGraph, n)
			for i := range rows {
				next++
				rows[i] = repo.UserGraph{User: repo.NewUser{Name: "G", Age: 1},
					Emails: []string{fmt.Sprintf("g%d@example.com", next)}}
			}
			return e.BulkInsertGraphs(e.ctx, counting(seqOf(rows, 0), reads), opts)
		}
	}},
	{"BulkCreatePosts", func(t *testing.T, e env) bulkLoad {
		author := e.mustRegister(t, "Author", 40)
		return func(n int, opts repo.BulkOptions, reads *int) (repo.BulkResult, error) {
			rows := make([]repo.NewPost, n)
			for i := range rows {
				rows[i] = repo.NewPost{UserID: author.ID, Title: "P", Rating: 1}
			}
			return e.BulkCreatePosts(e.ctx, counting(seqOf(rows, 0), reads), opts)
		}
	}},
	{"UpsertUsersByEmail", func(_ *testing.T, e env) bulkLoad {
		next := 0
		return func(n int, opts repo.BulkOptions, reads *int) (repo.BulkResult, error) {
			rows := make([]repo.UserImport, n)
			for i := range rows {
				next++
				rows[i] = repo.UserImport{Email: fmt.Sprintf("u%d@example.com", next), Name: "U", Age: 1}
			}
			return e.UpsertUsersByEmail(e.ctx, counting(seqOf(rows, 0), reads), opts)
		}
	}},
}

// counting yields what seq yields, counting the rows taken in n.
func counting[T any](seq iter.Seq2[T, error], n *int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for row, err := range seq {
			*n++
			if !yield(row, err) {
				return
			}
		}
	}
}

func TestBulkBatchSizeBound(t *testing.T) {
	t.Parallel()
	for _, m := range bulkMethods {
		for _, size := range []int{math.MaxInt, repo.MaxBatchSize + 1} {
			t.Run(fmt.Sprintf("%s/ErrBatchSize=%d", m.name, size), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				load := m.prepare(t, e)
				before := e.tableCounts(t)
				reads := 0
				res, err := load(3, repo.BulkOptions{BatchSize: size}, &reads)
				require.ErrorIs(t, err, repo.ErrInvalid)
				require.ErrorContains(t, err, strconv.Itoa(size))
				require.ErrorContains(t, err, "MaxBatchSize ("+strconv.Itoa(repo.MaxBatchSize)+")")
				require.Equal(t, repo.BulkResult{}, res)
				require.Zero(t, reads, "refused before a row is read")
				require.Equal(t, before, e.tableCounts(t), "nothing written")
			})
		}
	}
}

// TestBulkBigBatchSizeAllocatesRows shows that memory follows the rows a
// batch holds, not BatchSize: a load of a few rows with BatchSize
// MaxBatchSize allocates about what it does with BatchSize equal to the rows,
// well under a byte more per row of BatchSize.
//
// Not parallel: runtime.MemStats counts the whole process, so the test runs
// while the parallel tests wait (go test runs them after the sequential ones).
func TestBulkBigBatchSizeAllocatesRows(t *testing.T) {
	const rows = 5
	for _, m := range bulkMethods {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t)
			load := m.prepare(t, e)
			// The least of a few runs, so that a stray allocation elsewhere
			// (a pool's health check) does not decide.
			allocated := func(size int) uint64 {
				least := uint64(math.MaxUint64)
				for range 3 {
					var before, after runtime.MemStats
					var reads int
					runtime.ReadMemStats(&before)
					res, err := load(rows, repo.BulkOptions{BatchSize: size}, &reads)
					runtime.ReadMemStats(&after)
					require.NoError(t, err)
					require.Equal(t, 1, res.Batches)
					require.Equal(t, rows, reads)
					least = min(least, after.TotalAlloc-before.TotalAlloc)
				}
				return least
			}
			small, big := allocated(rows), allocated(repo.MaxBatchSize)
			// What the big size cost beyond the small one, per row of
			// BatchSize that never came. Room for a row costs 8 bytes or
			// more (a pointer, a map slot), so allocating for the size shows
			// as several bytes per row; a few kilobytes of noise from the
			// runtime are a few thousandths of a byte.
			perRow := float64(max(big, small)-small) / float64(repo.MaxBatchSize-rows)
			t.Logf("BatchSize %d: %d B; BatchSize %d: %d B; %.4f B per row of BatchSize", rows, small, repo.MaxBatchSize, big, perRow)
			require.Less(t, perRow, 1.0, "a big BatchSize must not allocate for rows that never come")
		})
	}
}
