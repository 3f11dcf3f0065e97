package repo_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestInitialLoadTwoAtOnce: two initial loads of one empty database. The
// first holds its lock, keys and indexes off, while the second starts and
// waits; once the first commits, the second sees its rows and says
// ErrNotEmpty, changing nothing.
func TestInitialLoadTwoAtOnce(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	before := catalog(t, pool)

	held, release := make(chan struct{}), make(chan struct{})
	type result struct {
		res repo.BulkResult
		err error
	}
	first := make(chan result, 1)
	go func() {
		once := false
		res, err := repo.New(pool).InitialLoadGraphs(ctx, fakeGraphs(31, 400), repo.InitialLoadOptions{
			Progress: func(repo.LoadProgress) {
				if !once { // locked, its keys and indexes off, copying
					once = true
					close(held)
					<-release
				}
			},
		})
		first <- result{res, err}
	}()
	select {
	case <-held:
	case r := <-first:
		t.Fatalf("the first load ended before copying: %v", r.err)
	}
	second := make(chan error, 1)
	go func() {
		_, err := repo.New(pool).InitialLoadGraphs(ctx, fakeGraphs(32, 400), repo.InitialLoadOptions{})
		second <- err
	}()
	// The second waits for a lock the first holds.
	require.Eventually(t, func() bool {
		var waiting bool
		require.NoError(t, pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_database d ON d.oid = l.database
WHERE NOT l.granted AND d.datname = current_database())`).Scan(&waiting))
		return waiting
	}, 30*time.Second, 10*time.Millisecond)
	close(release)

	won := <-first
	require.NoError(t, won.err)
	err := <-second
	require.ErrorIs(t, err, repo.ErrNotEmpty)
	require.ErrorContains(t, err, "users")

	require.Equal(t, before, catalog(t, pool), "the schema is as the first load left it")
	e := env{pool: pool, ctx: ctx}
	require.EqualValues(t, won.res.Users, e.rows(t, "users"))
	require.EqualValues(t, won.res.Addresses, e.rows(t, "addresses"))
	require.EqualValues(t, won.res.Posts, e.rows(t, "posts"))
	require.EqualValues(t, won.res.PostTags, e.rows(t, "post_tags"))
	require.EqualValues(t, won.res.Profiles, e.rows(t, "profiles"))
}
