package repo_test

import (
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// The follows' methods, declared as methods_test.go says.
var _ = declare(
	// One user's edges: one shard on Citus.
	method{name: "ListFollowing", route: read, pages: func(e at, limit int, after string) (any, error) {
		return e.r.ListFollowing(e.ctx, e.user.ID, repo.FollowQuery{Limit: limit, After: after})
	}, fill: func(e at) { // three edges at one instant: ties broken by the followee
		for range 3 {
			require.NoError(e.t, e.prep.Follow(bg, e.user.ID, e.newUser().ID))
		}
		e.exec("UPDATE follows SET created_at = '2026-01-01Z' WHERE user_id = $1", e.user.ID)
		e.exec("UPDATE followers SET created_at = '2026-01-01Z' WHERE follower_id = $1", e.user.ID)
	}, empty: func(e at) (any, error) { return e.r.ListFollowing(e.ctx, *nobody, repo.FollowQuery{}) }},
	method{name: "ListFollowers", route: read, pages: func(e at, limit int, after string) (any, error) {
		return e.r.ListFollowers(e.ctx, e.user.ID, repo.FollowQuery{Limit: limit, After: after})
	}, fill: func(e at) { // three edges at one instant: ties broken by the follower
		for range 3 {
			require.NoError(e.t, e.prep.Follow(bg, e.newUser().ID, e.user.ID))
		}
		e.exec("UPDATE followers SET created_at = '2026-01-02Z' WHERE user_id = $1", e.user.ID)
		e.exec("UPDATE follows SET created_at = '2026-01-02Z' WHERE followee_id = $1", e.user.ID)
	}, empty: func(e at) (any, error) { return e.r.ListFollowers(e.ctx, *nobody, repo.FollowQuery{}) }},
	// The followees found within the statement (on Citus by the coordinator, then every shard).
	method{name: "ListFeed", route: read, pages: func(e at, limit int, after string) (any, error) {
		return e.r.ListFeed(e.ctx, e.user.ID, repo.FollowQuery{Limit: limit, After: after}, e.s)
	}, fill: func(e at) { // the published posts of those the user follows, at one instant: ties broken by id
		var authors []int64
		for range 3 {
			p, err := e.prep.CreatePost(bg, repo.NewPost{UserID: e.newUser().ID, Title: "Followed", Published: true})
			require.NoError(e.t, err)
			require.NoError(e.t, e.prep.Follow(bg, e.user.ID, p.UserID))
			authors = append(authors, p.UserID)
		}
		e.exec("UPDATE posts SET created_at = '2026-01-01Z' WHERE user_id = ANY($1)", authors)
	}, empty: func(e at) (any, error) { return e.r.ListFeed(e.ctx, *nobody, repo.FollowQuery{}, e.s) }, bad: []func(e at) error{
		func(e at) error { return errOf(e.r.ListFeed(e.ctx, e.user.ID, repo.FollowQuery{}, repo.Strategy(7))) },
	}},
	// Both rows of the edge, BEGIN and COMMIT in one batch.
	method{name: "Follow", route: write, samples: []sample{
		{name: "OK", trips: 1, call: func(e at) error { return e.r.Follow(e.ctx, e.newUser().ID, e.user.ID) }},
		{name: "Twice", trips: 1, call: func(e at) error {
			u := e.newUser()
			require.NoError(e.t, e.prep.Follow(bg, u.ID, e.user.ID))
			return e.r.Follow(e.ctx, u.ID, e.user.ID)
		}},
	}, bad: []func(e at) error{func(e at) error { return e.r.Follow(e.ctx, e.user.ID, e.user.ID) }}},
	method{name: "Unfollow", route: write, samples: ok(1, func(e at) error {
		u := e.newUser()
		require.NoError(e.t, e.prep.Follow(bg, e.user.ID, u.ID))
		return e.r.Unfollow(e.ctx, e.user.ID, u.ID)
	}), bad: []func(e at) error{func(e at) error { return e.r.Unfollow(e.ctx, e.user.ID, e.user.ID) }}},
)

// edgeRows are the rows of both tables of the follows relation, as
// follower->followee pairs with their created_at: a mirror row says the
// same as its edge's row.
func (e env) edgeRows(t *testing.T) (follows, followers map[[2]int64]time.Time) {
	t.Helper()
	read := func(sql string) map[[2]int64]time.Time {
		rows, err := e.pool.Query(e.ctx, sql)
		require.NoError(t, err)
		defer rows.Close()
		out := map[[2]int64]time.Time{}
		for rows.Next() {
			var a, b int64
			var at time.Time
			require.NoError(t, rows.Scan(&a, &b, &at))
			out[[2]int64{a, b}] = at
		}
		require.NoError(t, rows.Err())
		return out
	}
	return read("SELECT user_id, followee_id, created_at FROM follows"),
		read("SELECT follower_id, user_id, created_at FROM followers")
}

// requireEdges checks that the edges are exactly want (follower->followee),
// each stored with both users with one created_at.
func (e env) requireEdges(t *testing.T, want ...[2]int64) {
	t.Helper()
	follows, followers := e.edgeRows(t)
	require.Equal(t, follows, followers, "every edge's row with the follower has its mirror with the followee")
	got := make([][2]int64, 0, len(follows))
	for k := range follows {
		got = append(got, k)
	}
	require.ElementsMatch(t, want, got)
}

func TestFollow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.mustRegister(t, "Ann", 30)
	bob := e.mustRegister(t, "Bob", 31)

	t.Run("OK", func(t *testing.T) {
		require.NoError(t, e.Follow(e.ctx, ann.ID, bob.ID))
		e.requireEdges(t, [2]int64{ann.ID, bob.ID})
	})
	t.Run("Twice", func(t *testing.T) {
		before, _ := e.edgeRows(t)
		require.NoError(t, e.Follow(e.ctx, ann.ID, bob.ID))
		after, _ := e.edgeRows(t)
		require.Equal(t, before, after, "the first created_at is kept")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		err := e.Follow(e.ctx, bob.ID, bob.ID)
		require.ErrorIs(t, err, repo.ErrInvalid)
		require.ErrorContains(t, err, "cannot follow themselves")
		e.requireEdges(t, [2]int64{ann.ID, bob.ID})
		require.ErrorIs(t, e.Unfollow(e.ctx, bob.ID, bob.ID), repo.ErrInvalid)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		const nobody = 1 << 40
		require.ErrorIs(t, e.Follow(e.ctx, bob.ID, nobody), repo.ErrNotFound)
		require.ErrorIs(t, e.Follow(e.ctx, nobody, bob.ID), repo.ErrNotFound)
		e.requireEdges(t, [2]int64{ann.ID, bob.ID})
	})
	t.Run("SchemaRefusesSelfFollow", func(t *testing.T) {
		// The schema's CHECKs say the same as Go, for every client.
		for _, sql := range []string{
			"INSERT INTO follows (user_id, followee_id) VALUES ($1, $1)",
			"INSERT INTO followers (user_id, follower_id) VALUES ($1, $1)",
		} {
			_, err := e.pool.Exec(e.ctx, sql, bob.ID)
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr)
			require.Equal(t, pgerrcode.CheckViolation, pgErr.Code, sql)
		}
	})
	t.Run("Unfollow", func(t *testing.T) {
		require.NoError(t, e.Follow(e.ctx, bob.ID, ann.ID))
		require.NoError(t, e.Unfollow(e.ctx, ann.ID, bob.ID))
		e.requireEdges(t, [2]int64{bob.ID, ann.ID})
		require.NoError(t, e.Unfollow(e.ctx, ann.ID, bob.ID), "not following is no error")
		e.requireEdges(t, [2]int64{bob.ID, ann.ID})
	})
}

// TestFollowLists pages through a user's follows and followers, newest
// first, ties (one created_at) by the other user's id, descending.
func TestFollowLists(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	star := e.mustRegister(t, "Star", 40)
	var fans []repo.User
	for range 7 {
		fan := e.mustRegister(t, "Fan", 20)
		fans = append(fans, fan)
		require.NoError(t, e.Follow(e.ctx, fan.ID, star.ID))
		require.NoError(t, e.Follow(e.ctx, star.ID, fan.ID))
	}
	// Fans 2 and 3 followed (and were followed) at one instant. (The time
	// is read first: on Citus a statement cannot join two users' shards.)
	var at time.Time
	require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT created_at FROM follows WHERE user_id = $1 AND followee_id = $2", fans[3].ID, star.ID).Scan(&at))
	for _, sql := range []string{
		"UPDATE follows SET created_at = $3 WHERE (user_id = $1 AND followee_id = $2) OR (user_id = $2 AND followee_id = $1)",
		"UPDATE followers SET created_at = $3 WHERE (user_id = $1 AND follower_id = $2) OR (user_id = $2 AND follower_id = $1)",
	} {
		for _, fan := range fans[2:4] {
			_, err := e.pool.Exec(e.ctx, sql, star.ID, fan.ID, at)
			require.NoError(t, err)
		}
	}
	e.requireEdges(t, func() (want [][2]int64) {
		for _, f := range fans {
			want = append(want, [2]int64{f.ID, star.ID}, [2]int64{star.ID, f.ID})
		}
		return want
	}()...)
	// Newest first: fan 6 to fan 0, fan 3 before fan 2 (one instant, the greater id first).
	var want []int64
	for i := len(fans) - 1; i >= 0; i-- {
		want = append(want, fans[i].ID)
	}
	for name, list := range map[string]func(repo.FollowQuery) (repo.Page[repo.Edge], error){
		"following": func(q repo.FollowQuery) (repo.Page[repo.Edge], error) { return e.ListFollowing(e.ctx, star.ID, q) },
		"followers": func(q repo.FollowQuery) (repo.Page[repo.Edge], error) { return e.ListFollowers(e.ctx, star.ID, q) },
	} {
		t.Run(name, func(t *testing.T) {
			var got []int64
			var last time.Time
			q := repo.FollowQuery{Limit: 3}
			pages := 0
			for {
				page, err := list(q)
				require.NoError(t, err)
				pages++
				for _, edge := range page.Items {
					other := edge.FolloweeID
					if name == "followers" {
						other = edge.FollowerID
						require.Equal(t, star.ID, edge.FolloweeID)
					} else {
						require.Equal(t, star.ID, edge.FollowerID)
					}
					if !last.IsZero() {
						require.False(t, edge.CreatedAt.After(last), "newest first")
					}
					last = edge.CreatedAt
					got = append(got, other)
				}
				if page.Next == "" {
					break
				}
				q.After = page.Next
			}
			require.Equal(t, want, got)
			require.Equal(t, 3, pages)
		})
	}
	t.Run("CursorOfAnotherList", func(t *testing.T) {
		page, err := e.ListFollowing(e.ctx, star.ID, repo.FollowQuery{Limit: 1})
		require.NoError(t, err)
		_, err = e.ListFollowers(e.ctx, star.ID, repo.FollowQuery{After: page.Next})
		require.ErrorIs(t, err, repo.ErrInvalid)
		_, err = e.ListFeed(e.ctx, star.ID, repo.FollowQuery{After: page.Next}, repo.Joined)
		require.ErrorIs(t, err, repo.ErrInvalid)
	})
	t.Run("BadLimit", func(t *testing.T) {
		_, err := e.ListFollowers(e.ctx, star.ID, repo.FollowQuery{Limit: -1})
		require.ErrorIs(t, err, repo.ErrInvalid)
	})
	t.Run("Nobody", func(t *testing.T) {
		page, err := e.ListFollowing(e.ctx, 1<<40, repo.FollowQuery{})
		require.NoError(t, err)
		require.Equal(t, []repo.Edge{}, page.Items)
	})
}

// TestListFeed: the published posts of the users one follows, newest first
// (ties by id), with Author and Tags, the same under Joined and SelectIn,
// page by page; not one's own posts, nor those of users one does not follow.
func TestListFeed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reader := e.mustRegister(t, "Reader", 30)
	stranger := e.mustRegister(t, "Stranger", 30)
	var authors []repo.User
	var want []int64 // the feed's post ids, oldest first
	for i := range 4 {
		a := e.mustRegister(t, "Author", int32(40+i))
		authors = append(authors, a)
		require.NoError(t, e.Follow(e.ctx, reader.ID, a.ID))
	}
	for round := range 3 {
		for i, a := range authors {
			p := e.mustPost(t, a.ID, "Post", "round-"+string(rune('a'+round)))
			if (round+i)%3 == 2 {
				continue // a draft
			}
			_, err := e.UpdatePost(e.ctx, p.ID, repo.PostPatch{Published: ptr(true)})
			require.NoError(t, err)
			want = append(want, p.ID)
		}
	}
	for _, u := range []repo.User{reader, stranger} {
		p := e.mustPost(t, u.ID, "Not in the feed")
		_, err := e.UpdatePost(e.ctx, p.ID, repo.PostPatch{Published: ptr(true)})
		require.NoError(t, err)
	}
	// Two posts of one instant: the greater id first.
	var at time.Time
	require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT created_at FROM posts WHERE id = $1", want[2]).Scan(&at))
	_, err := e.pool.Exec(e.ctx, "UPDATE posts SET created_at = $2 WHERE id = $1", want[1], at)
	require.NoError(t, err)
	slices.Reverse(want)

	read := func(s repo.Strategy, limit int) (ids []int64, posts []repo.Post, pages int) {
		q := repo.FollowQuery{Limit: limit}
		for {
			page, err := e.ListFeed(e.ctx, reader.ID, q, s)
			require.NoError(t, err)
			pages++
			for _, p := range page.Items {
				ids = append(ids, p.ID)
				posts = append(posts, p)
			}
			if page.Next == "" {
				return ids, posts, pages
			}
			q.After = page.Next
		}
	}
	ids, joined, pages := read(repo.Joined, 4)
	require.Equal(t, want, ids)
	require.Equal(t, (len(want)+3)/4, pages)
	_, selectIn, _ := read(repo.SelectIn, 4)
	require.Equal(t, joined, selectIn)
	for _, p := range joined {
		require.True(t, p.Published)
		require.NotNil(t, p.Author)
		require.Equal(t, p.UserID, p.Author.ID)
		require.Len(t, p.Tags, 1)
	}

	t.Run("Unfollowed", func(t *testing.T) {
		require.NoError(t, e.Unfollow(e.ctx, reader.ID, authors[0].ID))
		ids, _, _ := read(repo.SelectIn, 100)
		require.NotEmpty(t, ids)
		for _, id := range ids {
			p, err := e.GetPost(e.ctx, id, repo.Joined)
			require.NoError(t, err)
			require.NotEqual(t, authors[0].ID, p.UserID)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := e.ListFeed(e.ctx, reader.ID, repo.FollowQuery{}, repo.Strategy(7))
		require.ErrorIs(t, err, repo.ErrInvalid)
	})
}

// TestDeleteUserDeletesEdges: deleting a user deletes their edges both ways,
// both rows of each, and no one else's.
func TestDeleteUserDeletesEdges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var us []repo.User
	for range 4 {
		us = append(us, e.mustRegister(t, "User", 30))
	}
	for i, a := range us {
		for j, b := range us {
			if i != j {
				require.NoError(t, e.Follow(e.ctx, a.ID, b.ID))
			}
		}
	}
	require.NoError(t, e.DeleteUser(e.ctx, us[1].ID))
	var want [][2]int64
	for _, a := range []int{0, 2, 3} {
		for _, b := range []int{0, 2, 3} {
			if a != b {
				want = append(want, [2]int64{us[a].ID, us[b].ID})
			}
		}
	}
	e.requireEdges(t, want...)
}
