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

// TestDeleteUsersWhoFollowEachOther: deleting, at once, two users who follow
// each other, while a third unfollows one of them, in several groups at
// once: every call succeeds (a delete or unfollow that deadlocks with
// another runs again: each takes its own rows of the edges first) and no
// edge of theirs is left.
func TestDeleteUsersWhoFollowEachOther(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const groups = 6
	type group struct{ a, b, c repo.User }
	var gs []group
	for range groups {
		g := group{e.mustRegister(t, "A", 25), e.mustRegister(t, "B", 25), e.mustRegister(t, "C", 25)}
		for _, edge := range [][2]repo.User{{g.a, g.b}, {g.b, g.a}, {g.c, g.a}, {g.c, g.b}, {g.a, g.c}} {
			require.NoError(t, e.Follow(e.ctx, edge[0].ID, edge[1].ID))
		}
		gs = append(gs, g)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 3*groups)
	for i, g := range gs {
		wg.Go(func() { <-start; errs[3*i] = e.DeleteUser(e.ctx, g.a.ID) })
		wg.Go(func() { <-start; errs[3*i+1] = e.DeleteUser(e.ctx, g.b.ID) })
		wg.Go(func() { <-start; errs[3*i+2] = e.Unfollow(e.ctx, g.c.ID, g.a.ID) })
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "call %d", i)
	}
	e.requireEdges(t)
	e.requireEdgesIntact(t)
	require.Equal(t, groups, e.rows(t, "users"))
}
