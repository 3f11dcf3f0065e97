package repo

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/keyset"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// CONTRIBUTING.md's worked example of a list of a table of yours, with each
// row's author's name: pgtest.Grown's comments stand for your table (so it
// is a function of this test, not a method of Repo, whose methods need a
// table every database has).

// Comment is a comment on a post, with its author's name.
type Comment struct {
	ID         int64
	UserID     int64
	PostID     int64
	Body       string
	AuthorName string // users.name, joined
}

// commentsList declares the lists of a post's comments, oldest first.
var commentsList = keyset.New(keyset.Decl{
	Name:        "comments",
	Table:       pgtest.GrownTable,
	Columns:     []string{"id", "user_id", "post_id", "body"},
	Tie:         []keyset.Key{{Column: "id", Type: keyset.Int64}},
	Orders:      []keyset.Order{{Name: "id"}},
	Filters:     []keyset.Filter{{Name: "post", SQL: "user_id = @user_id AND post_id = @post_id", Prefix: true}},
	Join:        "JOIN users u ON u.id = page.user_id",
	JoinColumns: "u.name AS author_name",
})

var comments = listOf[Comment](commentsList)

// listComments returns a page of the comments on a post, oldest first.
// ErrInvalid for a bad limit or cursor.
func listComments(ctx context.Context, r *Repo, userID, postID int64, after string, limit int) (Page[Comment], error) {
	return listing(ctx, r, comments, keyset.Query{After: after, Limit: limit,
		Filters: []keyset.Arg{{Filter: "post", Values: []any{userID, postID}}}}, "list comments on post %d", postID)
}

// TestExampleList: the example's list pages through a post's comments, each
// with its author's name, and refuses a bad cursor.
func TestExampleList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewGrownPool(t)
	r := New(pool)
	u, err := r.CreateUser(ctx, NewUser{Name: "Commenter"})
	require.NoError(t, err)
	p, err := r.CreatePost(ctx, NewPost{UserID: u.ID, Title: "Commented"})
	require.NoError(t, err)
	for _, body := range []string{"first", "second", "third"} {
		_, err := pool.Exec(ctx, "INSERT INTO "+pgtest.GrownTable+" (user_id, post_id, body) VALUES ($1, $2, $3)", u.ID, p.ID, body)
		require.NoError(t, err)
	}
	var bodies []string
	after := ""
	for range 3 {
		page, err := listComments(ctx, r, u.ID, p.ID, after, 2)
		require.NoError(t, err)
		for _, c := range page.Items {
			require.Equal(t, Comment{ID: c.ID, UserID: u.ID, PostID: p.ID, Body: c.Body, AuthorName: "Commenter"}, c)
			bodies = append(bodies, c.Body)
		}
		if after = page.Next; after == "" {
			break
		}
	}
	require.Equal(t, []string{"first", "second", "third"}, bodies)
	_, err = listComments(ctx, r, u.ID, p.ID, "not a cursor", 2)
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "list comments on post")
}
