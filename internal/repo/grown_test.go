package repo_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestGrownSchema: the repository works as before on a schema a user grew
// (pgtest.Grown), whose GrownTable's rows refer to users (cascade) and posts
// (no cascade): reads, writes, bulk loads, a delete it refuses and one that
// cascades into it; on Citus too, where its migration distributes every
// table it makes.
func TestGrownSchema(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewGrownPool(t)
	e := env{Repo: repo.New(pool), pool: pool, ctx: context.Background()}
	ann := e.mustRegister(t, "Ann", 30, "ann@example.com")
	ben := e.mustRegister(t, "Ben", 31, "ben@example.com")
	post := e.mustPost(t, ann.ID, "Hello", "go")
	var citus bool
	require.NoError(t, pool.QueryRow(e.ctx, "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')").Scan(&citus))
	if citus { // every table, the grown ones too, distributed or a reference table
		var local []string
		require.NoError(t, pool.QueryRow(e.ctx, `
			SELECT coalesce(array_agg(c.relname ORDER BY c.relname), '{}') FROM pg_class c
			WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname <> 'goose_db_version'
			  AND NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = c.oid)`).Scan(&local))
		require.Empty(t, local, "tables Citus does not distribute")
	}
	comment := fmt.Sprintf("INSERT INTO %s (user_id, post_id, body) VALUES ($1, $2, 'Nice')", pgtest.GrownTable)
	_, err := pool.Exec(e.ctx, comment, ann.ID, post.ID)
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

	err = e.DeletePost(e.ctx, post.ID)
	require.ErrorIs(t, err, repo.ErrConflict, "a post with comments stays: no cascade")
	require.ErrorContains(t, err, pgtest.GrownTable)
	_, err = e.GetPost(e.ctx, post.ID, repo.SelectIn)
	require.NoError(t, err)
	require.NoError(t, e.DeleteUser(e.ctx, ann.ID), "the comments go with their user")
	require.Zero(t, e.rows(t, pgtest.GrownTable))
	_, err = e.GetUser(e.ctx, ben.ID)
	require.NoError(t, err)
}

// TestGrownDistributesAsREADMESays: pgtest.Grown's migration distributes its
// table on Citus with the block README ("Changing the schema or a query")
// tells a user to add to the migration of a new table, so that the Citus
// runs of the grown-schema tests prove what the docs say.
func TestGrownDistributesAsREADMESays(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	var block string
	for _, b := range regexp.MustCompile("(?ms)^ *```sql\n(.*?)^ *```$").FindAllSubmatch(doc, -1) {
		if strings.Contains(string(b[1]), "create_distributed_table") {
			block = string(b[1])
		}
	}
	require.NotEmpty(t, block, "README shows how a new table is distributed")
	block = regexp.MustCompile("(?m)^   ").ReplaceAllString(block, "")
	fsys, name := pgtest.Grown(t)
	migration, err := fs.ReadFile(fsys, name)
	require.NoError(t, err)
	require.Contains(t, string(migration), strings.ReplaceAll(block, "'comments'", "'"+pgtest.GrownTable+"'"))
}
