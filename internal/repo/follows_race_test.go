package repo_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// requireEdgesIntact: every edge's two rows are there, with one created_at,
// and both its users exist. Read table by table and compared in Go: on
// Citus no statement joins the shards of follows to those of users.
func (e env) requireEdgesIntact(t *testing.T) {
	t.Helper()
	follows, followers := e.edgeRows(t)
	require.Equal(t, follows, followers, "every edge's row with the follower has its mirror with the followee")
	rows, err := e.pool.Query(e.ctx, "SELECT id FROM users")
	require.NoError(t, err)
	users := map[int64]bool{}
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		users[id] = true
	}
	require.NoError(t, rows.Err())
	for edge := range follows {
		require.True(t, users[edge[0]] && users[edge[1]], "edge %d->%d to a user who does not exist", edge[0], edge[1])
	}
}

// TestFollowRacesDeleteUser: users follow a user, and are followed by her,
// while she is deleted. Each Follow either commits before the delete (which
// then deletes its edge) or fails with ErrNotFound; no edge to her
// survives, none loses its mirror, and nothing deadlocks.
func TestFollowRacesDeleteUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const fans, rounds = 12, 6
	var us []repo.User
	for range fans {
		us = append(us, e.mustRegister(t, "Fan", 20))
	}
	for round := range rounds {
		star := e.mustRegister(t, "Star", 30)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 2*fans)
		for i, u := range us {
			wg.Go(func() { <-start; errs[2*i] = e.Follow(e.ctx, u.ID, star.ID) })
			wg.Go(func() { <-start; errs[2*i+1] = e.Follow(e.ctx, star.ID, u.ID) })
		}
		var delErr error
		wg.Go(func() {
			<-start
			// Some follows first, most of the time.
			if round%2 == 1 {
				_, _ = e.ListFollowers(e.ctx, star.ID, repo.FollowQuery{})
			}
			delErr = e.DeleteUser(e.ctx, star.ID)
		})
		close(start)
		wg.Wait()
		require.NoError(t, delErr, "round %d", round)
		for i, err := range errs {
			if err != nil {
				require.ErrorIs(t, err, repo.ErrNotFound, "round %d, call %d", round, i)
			}
		}
		e.requireEdgesIntact(t)
		follows, _ := e.edgeRows(t)
		require.Empty(t, follows, "round %d: an edge of the deleted user survived", round)
	}
}

// TestDeleteUsersWhoFollowEachOther: deleting, at once, users who all follow
// one another, while some of them unfollow: every call succeeds (deletes
// that deadlock each other are run again) and no edge is left.
func TestDeleteUsersWhoFollowEachOther(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 8
	var us []repo.User
	for range n {
		us = append(us, e.mustRegister(t, "Friend", 25))
	}
	for _, a := range us {
		for _, b := range us {
			if a.ID != b.ID {
				require.NoError(t, e.Follow(e.ctx, a.ID, b.ID))
			}
		}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 2*n)
	for i, u := range us {
		wg.Go(func() { <-start; errs[i] = e.DeleteUser(e.ctx, u.ID) })
		// And unfollows of the same edges, from the other side.
		wg.Go(func() { <-start; errs[n+i] = e.Unfollow(e.ctx, us[(i+1)%n].ID, u.ID) })
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "call %d", i)
	}
	e.requireEdges(t)
	require.Zero(t, e.rows(t, "users"))
}
