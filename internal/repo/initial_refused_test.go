package repo_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestInitialLoadRefused: a load that cannot start says so with
// ErrLoadRefused, whatever stops it, and changes nothing; a failure of the
// data is not a refusal.
func TestInitialLoadRefused(t *testing.T) {
	t.Parallel()

	t.Run("DependentView", func(t *testing.T) {
		t.Parallel()
		// A view grouping by users' key selects users' other columns: it
		// depends on the key (a functional dependency), which the load
		// takes off.
		pool := pgtest.NewPool(t)
		ctx := context.Background()
		_, err := pool.Exec(ctx, `CREATE VIEW user_post_counts AS
			SELECT u.id, u.name, count(p.id) AS posts FROM users u LEFT JOIN posts p ON p.user_id = u.id GROUP BY u.id`)
		require.NoError(t, err)
		var key string
		require.NoError(t, pool.QueryRow(ctx, `SELECT conname FROM pg_constraint
			WHERE conrelid = 'users'::regclass AND contype = 'p'`).Scan(&key))
		before := catalog(t, pool)
		_, err = repo.New(pool).InitialLoadGraphs(ctx, fakeGraphs(3, 50), repo.InitialLoadOptions{})
		require.ErrorIs(t, err, repo.ErrLoadRefused)
		require.ErrorContains(t, err, "view user_post_counts depends on constraint "+key)
		require.NotContains(t, err.Error(), "CASCADE", "no advice to drop the view with the key")
		nothingStayed(t, pool, before, 0)
		// The batched path adds the rows.
		res, err := repo.New(pool).BulkInsertGraphs(ctx, fakeGraphs(3, 50), repo.BulkOptions{})
		require.NoError(t, err)
		require.EqualValues(t, 50, res.Users)
	})

	t.Run("ErrNotEmpty", func(t *testing.T) {
		t.Parallel()
		pool := pgtest.NewPool(t)
		r := repo.New(pool)
		_, err := r.CreateUser(context.Background(), repo.NewUser{Name: "Here"})
		require.NoError(t, err)
		_, err = r.InitialLoadGraphs(context.Background(), fakeGraphs(1, 10), repo.InitialLoadOptions{})
		require.ErrorIs(t, err, repo.ErrLoadRefused)
		require.ErrorIs(t, err, repo.ErrNotEmpty)
	})

	t.Run("DataIsNotARefusal", func(t *testing.T) {
		t.Parallel()
		pool := pgtest.NewPool(t)
		seq := func(yield func(repo.UserGraph, error) bool) {
			_ = yield(repo.UserGraph{User: repo.NewUser{Name: "Twin"}, Emails: []string{"twin@example.com"}}, nil) &&
				yield(repo.UserGraph{User: repo.NewUser{Name: "Twin"}, Emails: []string{"TWIN@example.com"}}, nil)
		}
		_, err := repo.New(pool).InitialLoadGraphs(context.Background(), seq, repo.InitialLoadOptions{})
		require.ErrorIs(t, err, repo.ErrConflict)
		require.NotErrorIs(t, err, repo.ErrLoadRefused)
	})
}
