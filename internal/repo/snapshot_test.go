package repo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestSelectInSeesOneSnapshot: a SelectIn load sends the parents' query and
// the children's in one batch; a write committed between the two must show
// in both or in neither. The writer holds the children's table locked, so
// the children's query, sent after the parents' ran, waits for the lock and
// starts after the commit. In READ COMMITTED (each statement its own
// snapshot) it would see the write that the parents' query did not: a user
// renamed but with the addresses they had, or without the ones deleted in
// the same transaction. The load must return what it returned before the
// write.
func TestSelectInSeesOneSnapshot(t *testing.T) {
	t.Parallel()
	type fixture struct{ user, post int64 }
	renameAnd := func(sql string) []string {
		return []string{"UPDATE users SET name = 'Snap after' WHERE id = @user", sql}
	}
	cases := []struct {
		name  string
		lock  string   // read by the children's query, not by the parents'
		write []string // @user and @post are the fixture's
		load  func(ctx context.Context, r *repo.Repo, f fixture) (any, error)
	}{
		{"ListUsersWithAddresses", "addresses", renameAnd("DELETE FROM addresses WHERE user_id = @user"),
			func(ctx context.Context, r *repo.Repo, _ fixture) (any, error) {
				return r.ListUsersWithAddresses(ctx, repo.UserQuery{}, repo.SelectIn)
			}},
		{"ListUsersWithPosts", "posts", renameAnd("UPDATE posts SET title = 'Snapped after' WHERE user_id = @user"),
			func(ctx context.Context, r *repo.Repo, _ fixture) (any, error) {
				return r.ListUsersWithPosts(ctx, repo.UserQuery{}, repo.SelectIn)
			}},
		{"FindUserByName", "addresses", renameAnd("DELETE FROM addresses WHERE user_id = @user"),
			func(ctx context.Context, r *repo.Repo, _ fixture) (any, error) {
				return r.FindUserByName(ctx, "Snap", repo.SelectIn)
			}},
		{"GetUserWithAddresses", "addresses", renameAnd("DELETE FROM addresses WHERE user_id = @user"),
			func(ctx context.Context, r *repo.Repo, f fixture) (any, error) {
				return r.GetUserWithAddresses(ctx, f.user, repo.SelectIn)
			}},
		{"ListPosts", "post_tags",
			[]string{"UPDATE posts SET title = 'Snapped after' WHERE id = @post", "DELETE FROM post_tags WHERE post_id = @post"},
			func(ctx context.Context, r *repo.Repo, _ fixture) (any, error) {
				return r.ListPosts(ctx, repo.PostQuery{}, repo.SelectIn)
			}},
		{"GetPost", "post_tags",
			[]string{"UPDATE posts SET title = 'Snapped after' WHERE id = @post", "DELETE FROM post_tags WHERE post_id = @post"},
			func(ctx context.Context, r *repo.Repo, f fixture) (any, error) {
				return r.GetPost(ctx, f.post, repo.SelectIn)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.mustRegister(t, "Snap", 40, "snap@example.com", "snap@work.com")
			f := fixture{user: u.ID, post: e.mustPost(t, u.ID, "Snapped", "one", "two").ID}
			// The loads run on a connection of their own, where the first
			// prepares the statements: the later one sends no Parse (which
			// would wait for the lock before the parents' query ran).
			cfg := e.pool.Config().Copy()
			cfg.MaxConns = 1
			pool, err := pgxpool.NewWithConfig(e.ctx, cfg)
			require.NoError(t, err)
			t.Cleanup(pool.Close)
			r := repo.New(pool)
			before, err := tc.load(e.ctx, r, f)
			require.NoError(t, err)

			writer, err := e.pool.Begin(e.ctx)
			require.NoError(t, err)
			defer func() { _ = writer.Rollback(context.WithoutCancel(e.ctx)) }()
			_, err = writer.Exec(e.ctx, "LOCK TABLE "+pgx.Identifier{tc.lock}.Sanitize()+" IN ACCESS EXCLUSIVE MODE")
			require.NoError(t, err)
			for _, sql := range tc.write {
				_, err = writer.Exec(e.ctx, sql, pgx.NamedArgs{"user": f.user, "post": f.post})
				require.NoError(t, err)
			}

			type result struct {
				v   any
				err error
			}
			done := make(chan result, 1)
			go func() {
				v, err := tc.load(e.ctx, r, f)
				done <- result{v, err}
			}()
			waitForLockWait(t, e, tc.lock) // the parents' query has run
			require.NoError(t, writer.Commit(e.ctx))
			got := <-done
			require.NoError(t, got.err)
			require.Equal(t, before, got.v, "the load mixed two snapshots")

			// The write changed what the load returns (FindUserByName finds
			// nobody of the old name: ErrNotFound).
			after, err := tc.load(e.ctx, r, f)
			if !errors.Is(err, repo.ErrNotFound) {
				require.NoError(t, err)
				require.NotEqual(t, before, after, "the write changed what the load returns")
			}
		})
	}
}

// waitForLockWait returns once a session waits for a lock on table.
func waitForLockWait(t *testing.T, e env, table string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	for {
		var waiting bool
		err := e.pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_locks WHERE relation = $1::regclass AND NOT granted)",
			table).Scan(&waiting)
		require.NoError(t, err, "waiting for the load to wait for the lock on %s", table)
		if waiting {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
