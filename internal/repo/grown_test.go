package repo_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestGrownSchema: the repository works as before on a schema a user grew by
// one table (pgtest.Grown) whose rows refer to users (no cascade) and posts
// (cascade): reads, writes, bulk loads, and deletes that cascade into it.
func TestGrownSchema(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewGrownPool(t)
	e := env{Repo: repo.New(pool), pool: pool, ctx: context.Background()}
	ann := e.mustRegister(t, "Ann", 30, "ann@example.com")
	ben := e.mustRegister(t, "Ben", 31, "ben@example.com")
	post := e.mustPost(t, ann.ID, "Hello", "go")
	comment := fmt.Sprintf("INSERT INTO %s (post_user_id, post_id, author_id, body) SELECT user_id, id, $2, 'Nice' FROM posts WHERE id = $1", pgtest.GrownTable)
	_, err := pool.Exec(e.ctx, comment, post.ID, ben.ID)
	require.NoError(t, err)

	for _, s := range []repo.Strategy{repo.Joined, repo.SelectIn} {
		page, err := e.ListUsersWithPosts(e.ctx, repo.UserQuery{}, s)
		require.NoError(t, err)
		require.Len(t, page.Items, 2)
		got, err := e.GetPost(e.ctx, post.ID, s)
		require.NoError(t, err)
		require.Equal(t, "Ann", got.Author.Name)
	}
	res, err := e.BulkInsertGraphs(e.ctx, func(yield func(repo.UserGraph, error) bool) {
		yield(repo.UserGraph{User: repo.NewUser{Name: "Cy", Age: 32}, Emails: []string{"cy@example.com"},
			Posts: []repo.GraphPost{{Title: "Bulk", Tags: []string{"go"}}}}, nil)
	}, repo.BulkOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Users)
	up, err := e.UpsertUsersByEmail(e.ctx, func(yield func(repo.UserImport, error) bool) {
		_ = yield(repo.UserImport{Email: "ANN@example.com", Name: "Ann B", Age: 33}, nil) &&
			yield(repo.UserImport{Email: "dee@example.com", Name: "Dee", Age: 34}, nil)
	}, repo.BulkOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 1, up.Updated)
	require.EqualValues(t, 1, up.Users)

	require.NoError(t, e.DeletePost(e.ctx, post.ID), "the comment goes with its post")
	require.Zero(t, e.rows(t, pgtest.GrownTable))
	_, err = pool.Exec(e.ctx, comment, e.mustPost(t, ann.ID, "Again").ID, ben.ID)
	require.NoError(t, err)
	require.Error(t, e.DeleteUser(e.ctx, ben.ID), "the author of a comment stays: no cascade")
	_, err = e.GetUser(e.ctx, ben.ID)
	require.NoError(t, err)
}
