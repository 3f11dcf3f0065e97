package repo_test

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// seedPeople registers n users with two addresses and (for even ids) two
// posts each, with names and ages that do not follow the ids.
func seedPeople(t *testing.T, e env, n int) []repo.User {
	t.Helper()
	users := make([]repo.User, n)
	for i := range n {
		name := fmt.Sprintf("%c-user-%02d", 'a'+(i*7)%26, i)
		users[i] = e.mustRegister(t, name, int32((i*37)%90),
			fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("u%d@work.example", i))
		if i%2 == 0 {
			e.mustPost(t, users[i].ID, fmt.Sprintf("Post %d.1", i))
			e.mustPost(t, users[i].ID, fmt.Sprintf("Post %d.2", i))
		}
	}
	return users
}

// allPages follows Next from the first page to the last.
func allPages(t *testing.T, q repo.UserQuery, list func(repo.UserQuery) (repo.Page[repo.User], error)) (users []repo.User, pages int) {
	t.Helper()
	for {
		page, err := list(q)
		require.NoError(t, err)
		users = append(users, page.Items...)
		pages++
		if page.Next == "" {
			return users, pages
		}
		require.Len(t, page.Items, q.Limit, "only the last page is short")
		q.After = page.Next
	}
}

func TestListUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	people := seedPeople(t, e, 23)

	orders := map[repo.UserOrder]func(a, b repo.User) int{
		repo.ByID: func(a, b repo.User) int { return int(a.ID - b.ID) },
		repo.ByAge: func(a, b repo.User) int {
			if a.Age != b.Age {
				return int(a.Age - b.Age)
			}
			return int(a.ID - b.ID)
		},
		repo.ByName: func(a, b repo.User) int {
			if c := strings.Compare(a.Name, b.Name); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		},
	}
	for order, cmp := range orders {
		for _, desc := range []bool{false, true} {
			name := "OrderBy_" + string(order)
			if desc {
				name += "_Desc"
			}
			t.Run(name, func(t *testing.T) {
				minAge, maxAge := int32(10), int32(70)
				var want []repo.User
				for _, u := range people {
					if u.Age >= minAge && u.Age <= maxAge {
						u.Addresses = nil
						want = append(want, u)
					}
				}
				slices.SortFunc(want, cmp)
				if desc {
					slices.Reverse(want) // ties by id descending too
				}

				q := repo.UserQuery{MinAge: &minAge, MaxAge: &maxAge, OrderBy: order, Desc: desc, Limit: 4}
				got, pages := allPages(t, q, func(q repo.UserQuery) (repo.Page[repo.User], error) { return e.ListUsers(e.ctx, q) })
				require.Equal(t, want, got, "every matching user once, in order")
				require.Equal(t, (len(want)+3)/4, pages)

				for _, s := range []repo.Strategy{repo.Joined, repo.SelectIn} {
					withAddrs, _ := allPages(t, q, func(q repo.UserQuery) (repo.Page[repo.User], error) {
						return e.ListUsersWithAddresses(e.ctx, q, s)
					})
					require.Len(t, withAddrs, len(want))
					for i, u := range withAddrs {
						require.Equal(t, want[i].ID, u.ID)
						require.Len(t, u.Addresses, 2)
					}
					withPosts, _ := allPages(t, q, func(q repo.UserQuery) (repo.Page[repo.User], error) {
						return e.ListUsersWithPosts(e.ctx, q, s)
					})
					require.Len(t, withPosts, len(want))
					for i, u := range withPosts {
						require.Equal(t, want[i].ID, u.ID)
						require.NotNil(t, u.Posts)
					}
				}
			})
		}
	}

	t.Run("Defaults", func(t *testing.T) {
		page, err := e.ListUsers(e.ctx, repo.UserQuery{})
		require.NoError(t, err)
		require.Len(t, page.Items, len(people))
		require.Empty(t, page.Next)
		require.Equal(t, people[0].ID, page.Items[0].ID)
	})

	t.Run("TutorialYoungUsers", func(t *testing.T) {
		// session.query(User).filter(User.age < 30)
		under30 := int32(29)
		page, err := e.ListUsers(e.ctx, repo.UserQuery{MaxAge: &under30, Limit: repo.MaxPageSize})
		require.NoError(t, err)
		require.NotEmpty(t, page.Items)
		for _, u := range page.Items {
			require.Less(t, u.Age, int32(30))
		}
	})

	firstByAge, err := e.ListUsers(e.ctx, repo.UserQuery{OrderBy: repo.ByAge, Limit: 2})
	require.NoError(t, err)
	bad := map[string]struct {
		q       repo.UserQuery
		message string
	}{
		"ErrBadOrder":         {repo.UserQuery{OrderBy: "age; DROP TABLE users"}, `order "age; DROP TABLE users" must be`},
		"ErrNegativeLimit":    {repo.UserQuery{Limit: -1}, `limit "-1"`},
		"ErrHugeLimit":        {repo.UserQuery{Limit: 1001}, `limit "1001"`},
		"ErrAgeRange":         {repo.UserQuery{MinAge: ptr[int32](50), MaxAge: ptr[int32](10)}, "minimum above its maximum"},
		"ErrMalformedCursor":  {repo.UserQuery{After: "not a cursor!"}, "is not a cursor this repository made"},
		"ErrCursorOtherOrder": {repo.UserQuery{OrderBy: repo.ByName, After: firstByAge.Next}, `ordered by "age", not "name"`},
		"ErrCursorOtherDirection": {repo.UserQuery{OrderBy: repo.ByAge, Desc: true, After: firstByAge.Next},
			`ordered by "age", not "age" descending`},
		"ErrBase64ButNotJSON": {repo.UserQuery{After: "aGVsbG8"}, "is not a cursor"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := e.ListUsers(e.ctx, tc.q)
			require.ErrorIs(t, err, repo.ErrInvalid)
			require.ErrorContains(t, err, tc.message)
			_, err = e.ListUsersWithAddresses(e.ctx, tc.q, repo.SelectIn)
			require.ErrorIs(t, err, repo.ErrInvalid)
		})
	}
	require.Equal(t, len(people), e.rows(t, "users"), "the hostile order key changed nothing")
}

// TestNoNPlusOne counts the statements each loading method sends for pages
// of 5 and of 30 users: it must not grow with the number of rows.
func TestNoNPlusOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	people := seedPeople(t, e, 30)
	for i, u := range people {
		if i%3 == 0 {
			_, err := e.TagPost(e.ctx, e.mustPost(t, u.ID, "Tagged").ID, "go", "sql", fmt.Sprintf("t%d", i))
			require.NoError(t, err)
		}
	}

	// SelectIn: BEGIN (REPEATABLE READ), the parents' query, the children's,
	// COMMIT, all in one batch.
	want := map[repo.Strategy]int64{repo.Joined: 1, repo.SelectIn: 4}
	for _, s := range []repo.Strategy{repo.Joined, repo.SelectIn} {
		for _, limit := range []int{5, 30} {
			name := fmt.Sprintf("%v/%d", map[repo.Strategy]string{repo.Joined: "Joined", repo.SelectIn: "SelectIn"}[s], limit)
			t.Run(name, func(t *testing.T) {
				for _, order := range []repo.UserOrder{repo.ByID, repo.ByAge, repo.ByName} {
					q := repo.UserQuery{OrderBy: order, Limit: limit}
					var page repo.Page[repo.User]
					n := e.counter.queries(t, func() {
						var err error
						page, err = e.ListUsersWithAddresses(e.ctx, q, s)
						require.NoError(t, err)
					})
					require.Len(t, page.Items, limit)
					require.Equal(t, want[s], n, "ListUsersWithAddresses by %s", order)

					n = e.counter.queries(t, func() {
						var err error
						page, err = e.ListUsersWithPosts(e.ctx, q, s)
						require.NoError(t, err)
					})
					require.Equal(t, want[s], n, "ListUsersWithPosts by %s", order)
				}

				var posts repo.Page[repo.Post]
				n := e.counter.queries(t, func() {
					var err error
					posts, err = e.ListPosts(e.ctx, repo.PostQuery{Limit: limit}, s)
					require.NoError(t, err)
				})
				require.Len(t, posts.Items, limit)
				require.Equal(t, want[s], n, "ListPosts")

				n = e.counter.queries(t, func() {
					_, err := e.GetPost(e.ctx, posts.Items[0].ID, s)
					require.NoError(t, err)
					_, err = e.GetUserWithAddresses(e.ctx, people[0].ID, s)
					require.NoError(t, err)
				})
				require.Equal(t, 2*want[s], n, "GetPost and GetUserWithAddresses")
			})
		}
	}
}

// TestStrategiesAgree: both strategies return exactly the same values.
func TestStrategiesAgree(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	people := seedPeople(t, e, 12)
	e.mustPost(t, people[1].ID, "Tagged", "zeta", "alpha", "mid-dle")
	e.mustRegister(t, "No Addresses", 33)

	for _, q := range []repo.UserQuery{
		{OrderBy: repo.ByID, Limit: 5}, {OrderBy: repo.ByAge, Limit: 5}, {OrderBy: repo.ByName, Limit: 5},
		{OrderBy: repo.ByID, Desc: true, Limit: 5}, {OrderBy: repo.ByName, Desc: true, Limit: 5},
	} {
		joined, err := e.ListUsersWithAddresses(e.ctx, q, repo.Joined)
		require.NoError(t, err)
		selectIn, err := e.ListUsersWithAddresses(e.ctx, q, repo.SelectIn)
		require.NoError(t, err)
		require.Equal(t, joined, selectIn)

		joined, err = e.ListUsersWithPosts(e.ctx, q, repo.Joined)
		require.NoError(t, err)
		selectIn, err = e.ListUsersWithPosts(e.ctx, q, repo.SelectIn)
		require.NoError(t, err)
		require.Equal(t, joined, selectIn)
	}
	// Every user's addresses are theirs to append to: loaded as runs of one
	// slice, an append to one user's must not write over the next user's.
	for _, s := range []repo.Strategy{repo.Joined, repo.SelectIn} {
		page, err := e.ListUsersWithAddresses(e.ctx, repo.UserQuery{Limit: 5}, s)
		require.NoError(t, err)
		var loaded [][]repo.Address
		for _, u := range page.Items {
			loaded = append(loaded, slices.Clone(u.Addresses))
		}
		for i := range page.Items {
			page.Items[i].Addresses = append(page.Items[i].Addresses, repo.Address{Email: "appended@example.com"})
		}
		for i, u := range page.Items {
			require.Equal(t, loaded[i], u.Addresses[:len(u.Addresses)-1], "strategy %d: user %d's addresses after appending to every user's", s, u.ID)
		}
	}
	for _, q := range []repo.PostQuery{{Limit: 100}, {Desc: true, Limit: 3}} {
		joined, err := e.ListPosts(e.ctx, q, repo.Joined)
		require.NoError(t, err)
		selectIn, err := e.ListPosts(e.ctx, q, repo.SelectIn)
		require.NoError(t, err)
		require.Equal(t, joined, selectIn)
	}
}

// TestListUsersFilters: the name prefix, created since and the newest-first
// order, alone and together, across pages, by every strategy.
func TestListUsersFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	people := seedPeople(t, e, 23)
	e.mustRegister(t, "b%_like", 40) // a prefix is no pattern
	all, err := e.ListUsers(e.ctx, repo.UserQuery{Limit: repo.MaxPageSize})
	require.NoError(t, err)
	base := time.Now().Truncate(time.Microsecond)
	for i := range all.Items { // one statement each: Citus refuses now() - id * interval in an UPDATE
		all.Items[i].CreatedAt = base.Add(-time.Duration(all.Items[i].ID) * time.Hour)
		_, err := e.pool.Exec(e.ctx, `UPDATE users SET created_at = $1 WHERE id = $2`, all.Items[i].CreatedAt, all.Items[i].ID)
		require.NoError(t, err)
	}
	require.Len(t, all.Items, len(people)+1)

	since := all.Items[10].CreatedAt
	cases := map[string]struct {
		q    repo.UserQuery
		keep func(repo.User) bool
	}{
		"NamePrefix":   {repo.UserQuery{NamePrefix: "b"}, func(u repo.User) bool { return strings.HasPrefix(u.Name, "b") }},
		"LikeIsNoGlob": {repo.UserQuery{NamePrefix: "b%"}, func(u repo.User) bool { return strings.HasPrefix(u.Name, "b%") }},
		"CreatedSince": {repo.UserQuery{CreatedSince: &since}, func(u repo.User) bool { return !u.CreatedAt.Before(since) }},
		"All": {repo.UserQuery{NamePrefix: "h-", CreatedSince: &since, MinAge: ptr[int32](1)}, func(u repo.User) bool {
			return strings.HasPrefix(u.Name, "h-") && !u.CreatedAt.Before(since) && u.Age >= 1
		}},
	}
	for name, tc := range cases {
		for _, order := range []repo.UserOrder{repo.ByID, repo.ByName, repo.ByCreatedAt} {
			for _, desc := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/desc=%v", name, order, desc), func(t *testing.T) {
					var want []repo.User
					for _, u := range all.Items {
						if tc.keep(u) {
							want = append(want, u)
						}
					}
					slices.SortFunc(want, func(a, b repo.User) int {
						var c int
						switch order {
						case repo.ByName:
							c = strings.Compare(a.Name, b.Name)
						case repo.ByCreatedAt:
							c = a.CreatedAt.Compare(b.CreatedAt)
						}
						if c == 0 {
							c = int(a.ID - b.ID)
						}
						if desc {
							c = -c
						}
						return c
					})
					q := tc.q
					q.OrderBy, q.Desc, q.Limit = order, desc, 2
					got, _ := allPages(t, q, func(q repo.UserQuery) (repo.Page[repo.User], error) { return e.ListUsers(e.ctx, q) })
					require.Equal(t, ids(want), ids(got))
					for _, s := range []repo.Strategy{repo.Joined, repo.SelectIn} {
						withPosts, _ := allPages(t, q, func(q repo.UserQuery) (repo.Page[repo.User], error) {
							return e.ListUsersWithPosts(e.ctx, q, s)
						})
						require.Equal(t, ids(want), ids(withPosts))
					}
				})
			}
		}
	}

	t.Run("NewestFirst", func(t *testing.T) {
		page, err := e.ListUsers(e.ctx, repo.UserQuery{OrderBy: repo.ByCreatedAt, Desc: true, Limit: 1})
		require.NoError(t, err)
		require.Equal(t, all.Items[0].ID, page.Items[0].ID, "created an hour per id ago: the least id is the newest")
	})
	t.Run("ErrBadPrefix", func(t *testing.T) {
		for _, p := range []string{"a\x00", "\xff", strings.Repeat("x", repo.MaxNameLen+1)} {
			_, err := e.ListUsers(e.ctx, repo.UserQuery{NamePrefix: p})
			require.ErrorIs(t, err, repo.ErrInvalid)
			require.ErrorContains(t, err, "name prefix")
		}
	})
}

func ids(users []repo.User) []int64 {
	out := make([]int64, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

// TestListCursors: a cursor serves its own list, order and direction, with
// values of its keys' types; anything else is ErrInvalid, never a query.
func TestListCursors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedPeople(t, e, 3)
	byName, err := e.ListUsers(e.ctx, repo.UserQuery{OrderBy: repo.ByName, Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, byName.Next)
	posts, err := e.ListPosts(e.ctx, repo.PostQuery{Limit: 1}, repo.Joined)
	require.NoError(t, err)
	require.NotEmpty(t, posts.Next)

	forge := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
	bad := map[string]struct {
		q       repo.UserQuery
		message string
	}{
		"ErrOtherList":      {repo.UserQuery{After: posts.Next}, `is for a list of "posts", not of "users"`},
		"ErrListName":       {repo.UserQuery{After: forge(`{"l":"posts","o":"id","k":[1]}`)}, `is for a list of "posts", not of "users"`},
		"ErrTextForInt":     {repo.UserQuery{After: forge(`{"l":"users","o":"id","k":["1"]}`)}, "has a value for id that is not of type bigint"},
		"ErrFloatForInt":    {repo.UserQuery{After: forge(`{"l":"users","o":"id","k":[1.5]}`)}, "not of type bigint"},
		"ErrAgeOutOfRange":  {repo.UserQuery{OrderBy: repo.ByAge, After: forge(`{"l":"users","o":"age","k":[4294967296,1]}`)}, "has a value for age that is not of type integer"},
		"ErrIntForText":     {repo.UserQuery{OrderBy: repo.ByName, After: forge(`{"l":"users","o":"name","k":[1,1]}`)}, "not of type text"},
		"ErrNulInText":      {repo.UserQuery{OrderBy: repo.ByName, After: forge(`{"l":"users","o":"name","k":["a\u0000",1]}`)}, "not of type text"},
		"ErrTimeOutOfRange": {repo.UserQuery{OrderBy: repo.ByCreatedAt, After: forge(`{"l":"users","o":"created_at","k":[9223372036854775807,1]}`)}, "not of type timestamptz"},
		"ErrTooFewKeys":     {repo.UserQuery{OrderBy: repo.ByName, After: forge(`{"l":"users","o":"name","k":[1]}`)}, "has 1 key values, not 2"},
		"ErrUnknownField":   {repo.UserQuery{After: forge(`{"l":"users","o":"id","k":[1],"x":1}`)}, "is not a cursor this repository made"},
		"ErrOtherOrder":     {repo.UserQuery{OrderBy: repo.ByCreatedAt, After: byName.Next}, `ordered by "name", not "created_at"`},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			n := e.counter.queries(t, func() {
				_, err := e.ListUsers(e.ctx, tc.q)
				require.ErrorIs(t, err, repo.ErrInvalid)
				require.ErrorContains(t, err, tc.message)
				_, err = e.ListUsersWithAddresses(e.ctx, tc.q, repo.SelectIn)
				require.ErrorIs(t, err, repo.ErrInvalid)
			})
			require.Zero(t, n, "refused before any statement")
		})
	}
	t.Run("OK", func(t *testing.T) {
		next, err := e.ListUsers(e.ctx, repo.UserQuery{OrderBy: repo.ByName, Limit: 1, After: byName.Next})
		require.NoError(t, err)
		require.Greater(t, next.Items[0].Name, byName.Items[0].Name)
	})
}

// TestListPostsFilters: author, published, tag and created since, alone and
// together, across pages, by both strategies.
func TestListPostsFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.mustRegister(t, "Alice", 30)
	bob := e.mustRegister(t, "Bob", 25)
	base := time.Now().Truncate(time.Microsecond)
	var all []repo.Post
	for i := range 12 {
		author := alice.ID
		if i%3 == 0 {
			author = bob.ID
		}
		var tags []string
		if i%2 == 0 {
			tags = []string{"go"}
		}
		p := e.mustPost(t, author, fmt.Sprintf("Post %d", i), tags...)
		p.Published = i%4 != 0
		p.CreatedAt = base.Add(time.Duration(i) * time.Hour)
		_, err := e.pool.Exec(e.ctx, `UPDATE posts SET published = $1, created_at = $2 WHERE user_id = $3 AND id = $4`,
			p.Published, p.CreatedAt, p.UserID, p.ID)
		require.NoError(t, err)
		p.Tags = tags2(tags)
		all = append(all, p)
	}
	since := base.Add(5 * time.Hour)
	cases := map[string]struct {
		q    repo.PostQuery
		keep func(repo.Post) bool
	}{
		"Author":       {repo.PostQuery{UserID: &alice.ID}, func(p repo.Post) bool { return p.UserID == alice.ID }},
		"Published":    {repo.PostQuery{Published: ptr(false)}, func(p repo.Post) bool { return !p.Published }},
		"Tag":          {repo.PostQuery{Tag: " GO "}, func(p repo.Post) bool { return len(p.Tags) > 0 }},
		"CreatedSince": {repo.PostQuery{CreatedSince: &since}, func(p repo.Post) bool { return !p.CreatedAt.Before(since) }},
		"All": {repo.PostQuery{UserID: &alice.ID, Published: ptr(true), Tag: "go", CreatedSince: &since}, func(p repo.Post) bool {
			return p.UserID == alice.ID && p.Published && len(p.Tags) > 0 && !p.CreatedAt.Before(since)
		}},
	}
	for name, tc := range cases {
		for _, desc := range []bool{false, true} {
			for _, s := range []repo.Strategy{repo.Joined, repo.SelectIn} {
				t.Run(fmt.Sprintf("%s/desc=%v/%d", name, desc, s), func(t *testing.T) {
					var want []int64
					for _, p := range all {
						if tc.keep(p) {
							want = append(want, p.ID)
						}
					}
					if desc {
						slices.Reverse(want)
					}
					q := tc.q
					q.Desc, q.Limit = desc, 2
					var got []int64
					for {
						page, err := e.ListPosts(e.ctx, q, s)
						require.NoError(t, err)
						for _, p := range page.Items {
							require.NotNil(t, p.Author)
							require.Equal(t, p.UserID, p.Author.ID)
							require.NotNil(t, p.Tags)
							got = append(got, p.ID)
						}
						if page.Next == "" {
							break
						}
						q.After = page.Next
					}
					require.Equal(t, want, got)
				})
			}
		}
	}
	_, err := e.ListPosts(e.ctx, repo.PostQuery{Tag: "no spaces"}, repo.Joined)
	require.ErrorIs(t, err, repo.ErrInvalid)
}

func tags2(names []string) []repo.Tag {
	out := []repo.Tag{}
	for _, n := range names {
		out = append(out, repo.Tag{Name: n})
	}
	return out
}
