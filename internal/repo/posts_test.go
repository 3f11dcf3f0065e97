package repo_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

func TestCreatePost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.mustRegister(t, "Alice", 30, "alice@example.com")

	t.Run("OK", func(t *testing.T) {
		p, err := e.CreatePost(e.ctx, repo.NewPost{UserID: alice.ID, Title: "First Post",
			Content: "This is my first post!", Published: true, Rating: 4.5})
		require.NoError(t, err)
		require.NotZero(t, p.ID)
		require.True(t, p.Published)
		require.Equal(t, 4.5, p.Rating)
		require.False(t, p.CreatedAt.IsZero())
		require.Nil(t, p.Author)
	})

	before := e.rows(t, "posts")
	bad := map[string]struct {
		post    repo.NewPost
		message string
	}{
		"ErrBlankTitle": {repo.NewPost{UserID: alice.ID, Title: " "}, `title " " must not be blank`},
		"ErrLongTitle":  {repo.NewPost{UserID: alice.ID, Title: strings.Repeat("t", 301)}, "longer than 300"},
		"ErrRating":     {repo.NewPost{UserID: alice.ID, Title: "T", Rating: 5.5}, `rating "5.5" must be between 0 and 5`},
		"ErrNaNRating":  {repo.NewPost{UserID: alice.ID, Title: "T", Rating: math.NaN()}, `rating "NaN"`},
		"ErrContentNUL": {repo.NewPost{UserID: alice.ID, Title: "T", Content: "a\x00b"}, "NUL byte"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := e.CreatePost(e.ctx, tc.post)
			require.ErrorIs(t, err, repo.ErrInvalid)
			require.ErrorContains(t, err, tc.message)
		})
	}
	t.Run("ErrNoSuchUser", func(t *testing.T) {
		_, err := e.CreatePost(e.ctx, repo.NewPost{UserID: alice.ID + 99, Title: "Orphan"})
		require.ErrorIs(t, err, repo.ErrNotFound)
		require.ErrorContains(t, err, "for user")
	})
	require.Equal(t, before, e.rows(t, "posts"), "no bad post was written")
}

func TestGetPost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bob := e.mustRegister(t, "Bob", 25, "bob@example.com")
	tagged := e.mustPost(t, bob.ID, "Tagged", "SQL", " go ", "go")
	bare := e.mustPost(t, bob.ID, "Bare")

	for _, s := range []repo.Strategy{repo.Joined, repo.SelectIn} {
		got, err := e.GetPost(e.ctx, tagged.ID, s)
		require.NoError(t, err)
		require.Equal(t, "Tagged", got.Title)
		require.Equal(t, "Bob", got.Author.Name)
		require.Nil(t, got.Author.Addresses)
		require.Equal(t, []string{"go", "sql"}, tagNames(got.Tags), "normalised, deduplicated, by name")

		got, err = e.GetPost(e.ctx, bare.ID, s)
		require.NoError(t, err)
		require.Equal(t, []repo.Tag{}, got.Tags)

		_, err = e.GetPost(e.ctx, bare.ID+100, s)
		require.ErrorIs(t, err, repo.ErrNotFound)
	}
}

func tagNames(tags []repo.Tag) []string {
	names := make([]string, len(tags))
	for i, t := range tags {
		names[i] = t.Name
	}
	return names
}

func TestTags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	carol := e.mustRegister(t, "Carol", 41)
	p := e.mustPost(t, carol.ID, "Tags")

	tags, err := e.TagPost(e.ctx, p.ID, "go", "databases")
	require.NoError(t, err)
	require.Equal(t, []string{"databases", "go"}, tagNames(tags))
	_, err = e.TagPost(e.ctx, p.ID, "GO", "postgres")
	require.NoError(t, err, "tagging again is harmless")

	got, err := e.GetPost(e.ctx, p.ID, repo.Joined)
	require.NoError(t, err)
	require.Equal(t, []string{"databases", "go", "postgres"}, tagNames(got.Tags))
	require.Equal(t, 3, e.rows(t, "tags"))

	t.Run("ErrBadTag", func(t *testing.T) {
		for _, name := range []string{"", "-leading-dash", "has space", strings.Repeat("x", 51), "émoji"} {
			_, err := e.TagPost(e.ctx, p.ID, "fine", name)
			require.ErrorIs(t, err, repo.ErrInvalid, name)
		}
		_, err := e.TagPost(e.ctx, p.ID)
		require.ErrorIs(t, err, repo.ErrInvalid)
		require.Equal(t, 3, e.rows(t, "tags"), `"fine" was not created either`)
	})

	t.Run("ErrNoSuchPost", func(t *testing.T) {
		_, err := e.TagPost(e.ctx, p.ID+100, "brand-new")
		require.ErrorIs(t, err, repo.ErrNotFound)
		require.Equal(t, 3, e.rows(t, "tags"), "the new tag rolled back with the rest")
	})

	t.Run("Untag", func(t *testing.T) {
		n, err := e.UntagPost(e.ctx, p.ID, "Go", "never-had")
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		got, err := e.GetPost(e.ctx, p.ID, repo.SelectIn)
		require.NoError(t, err)
		require.Equal(t, []string{"databases", "postgres"}, tagNames(got.Tags))
		require.Equal(t, 3, e.rows(t, "tags"), "the tag itself stays")

		_, err = e.UntagPost(e.ctx, p.ID, "bad tag")
		require.ErrorIs(t, err, repo.ErrInvalid)
	})
}

func TestUpdateAndDeletePost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dan := e.mustRegister(t, "Dan", 33)
	p := e.mustPost(t, dan.ID, "Draft", "go")

	got, err := e.UpdatePost(e.ctx, p.ID, repo.PostPatch{Published: ptr(true)})
	require.NoError(t, err)
	require.True(t, got.Published)
	require.Equal(t, "Draft", got.Title, "only what the patch sets changes")
	require.Equal(t, p.Rating, got.Rating)

	_, err = e.UpdatePost(e.ctx, p.ID, repo.PostPatch{Title: ptr(""), Rating: ptr(1.0)})
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = e.UpdatePost(e.ctx, p.ID, repo.PostPatch{Rating: ptr(-1.0)})
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = e.UpdatePost(e.ctx, p.ID+100, repo.PostPatch{Title: ptr("x")})
	require.ErrorIs(t, err, repo.ErrNotFound)
	after, err := e.GetPost(e.ctx, p.ID, repo.Joined)
	require.NoError(t, err)
	require.Equal(t, p.Rating, after.Rating, "failed updates wrote nothing")

	require.NoError(t, e.DeletePost(e.ctx, p.ID))
	require.ErrorIs(t, e.DeletePost(e.ctx, p.ID), repo.ErrNotFound)
	require.Equal(t, 0, e.rows(t, "post_tags"))
}

func TestListPosts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.mustRegister(t, "Alice", 30)
	bob := e.mustRegister(t, "Bob", 25)
	var aliceIDs []int64
	for i := range 7 {
		aliceIDs = append(aliceIDs, e.mustPost(t, alice.ID, "A", "a").ID)
		e.mustPost(t, bob.ID, "B")
		if i%2 == 0 {
			_, err := e.UpdatePost(e.ctx, aliceIDs[i], repo.PostPatch{Published: ptr(true)})
			require.NoError(t, err)
		}
	}

	for _, s := range []repo.Strategy{repo.Joined, repo.SelectIn} {
		for _, desc := range []bool{false, true} {
			var ids []int64
			q := repo.PostQuery{UserID: &alice.ID, Desc: desc, Limit: 3}
			for {
				page, err := e.ListPosts(e.ctx, q, s)
				require.NoError(t, err)
				for _, p := range page.Items {
					require.Equal(t, "Alice", p.Author.Name)
					require.Equal(t, []string{"a"}, tagNames(p.Tags))
					ids = append(ids, p.ID)
				}
				if page.Next == "" {
					break
				}
				q.After = page.Next
			}
			want := slices.Clone(aliceIDs)
			if desc {
				slices.Reverse(want) // newest first
			}
			require.Equal(t, want, ids, "desc %v", desc)
		}

		published, err := e.ListPosts(e.ctx, repo.PostQuery{UserID: &alice.ID, Published: ptr(true)}, s)
		require.NoError(t, err)
		require.Len(t, published.Items, 4)

		all, err := e.ListPosts(e.ctx, repo.PostQuery{}, s)
		require.NoError(t, err)
		require.Len(t, all.Items, 14)
	}

	usersPage, err := e.ListUsers(e.ctx, repo.UserQuery{Limit: 1})
	require.NoError(t, err)
	_, err = e.ListPosts(e.ctx, repo.PostQuery{After: usersPage.Next}, repo.Joined)
	require.ErrorIs(t, err, repo.ErrInvalid, "a users cursor is not a posts cursor")
	oldestFirst, err := e.ListPosts(e.ctx, repo.PostQuery{Limit: 1}, repo.Joined)
	require.NoError(t, err)
	_, err = e.ListPosts(e.ctx, repo.PostQuery{Desc: true, After: oldestFirst.Next}, repo.Joined)
	require.ErrorIs(t, err, repo.ErrInvalid, "a cursor serves only its direction")
	require.ErrorContains(t, err, `is for a list ordered by "post", not "post" descending`)
	_, err = e.ListPosts(e.ctx, repo.PostQuery{Limit: 5000}, repo.Joined)
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = e.ListPosts(e.ctx, repo.PostQuery{}, repo.Strategy(-1))
	require.ErrorIs(t, err, repo.ErrInvalid)
}
