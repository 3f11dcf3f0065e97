package repo_test

import (
	"context"
	"fmt"
	"iter"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/fakedata"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// catalog describes every constraint and index of the public schema, by
// table and name, with its definition and whether it is validated: what an
// initial load must leave exactly as it found it.
func catalog(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	out := keyValues(t, pool, `
SELECT 'constraint ' || conrelid::regclass || ' ' || conname,
       pg_get_constraintdef(oid) || ' convalidated=' || convalidated || ' deferrable=' || condeferrable ||
       ' comment=' || coalesce(obj_description(oid, 'pg_constraint'), '')
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'index ' || indexrelid::regclass, pg_get_indexdef(indexrelid) || ' valid=' || indisvalid ||
       ' clustered=' || indisclustered || ' comment=' || coalesce(obj_description(indexrelid, 'pg_class'), '')
FROM pg_index WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)`)
	require.NotEmpty(t, out)
	return out
}

// keyValues runs a query of two text columns and returns its rows as a map
// from the first to the second.
func keyValues(t *testing.T, pool *pgxpool.Pool, sql string) map[string]string {
	t.Helper()
	rows, err := pool.Query(context.Background(), sql)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		require.NoError(t, rows.Scan(&k, &v))
		out[k] = v
	}
	require.NoError(t, rows.Err())
	return out
}

// dump returns the loaded rows in a form that does not depend on how tag ids
// were handed out (tags by name).
func dump(t *testing.T, pool *pgxpool.Pool) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, q := range map[string]string{
		"users":     "SELECT format('%s %s %s', id, name, age) FROM users ORDER BY id",
		"addresses": "SELECT format('%s %s %s', id, user_id, email) FROM addresses ORDER BY id",
		"profiles":  "SELECT format('%s %s %s', user_id, bio, website) FROM profiles ORDER BY user_id",
		"posts":     "SELECT format('%s %s %s %s %s %s', id, user_id, title, content, published, rating) FROM posts ORDER BY id",
		"tags":      "SELECT name FROM tags ORDER BY name",
		"post_tags": "SELECT format('%s %s', pt.post_id, t.name) FROM post_tags pt JOIN tags t ON t.id = pt.tag_id ORDER BY 1",
	} {
		rows, err := pool.Query(context.Background(), q)
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			out[table] = append(out[table], s)
		}
		require.NoError(t, rows.Err())
	}
	return out
}

func fakeGraphs(seed uint64, n int) iter.Seq2[repo.UserGraph, error] {
	return fakedata.New(fakedata.Config{Seed: seed, AddressesPerUser: 2, PostsPerUser: 3, Tags: 20}).Users(n)
}

// nothingStayed checks that a failed load left the schema and the rows as
// they were.
func nothingStayed(t *testing.T, pool *pgxpool.Pool, before map[string]string, users int) {
	t.Helper()
	require.Equal(t, before, catalog(t, pool), "the schema is exactly as it was")
	e := env{pool: pool, ctx: context.Background()}
	require.Equal(t, users, e.rows(t, "users"))
	for _, table := range []string{"addresses", "posts", "post_tags", "profiles"} {
		require.Zero(t, e.rows(t, table), table)
	}
}

func TestInitialLoad(t *testing.T) {
	t.Parallel()

	t.Run("SameAsBatched", func(t *testing.T) {
		t.Parallel()
		initial, batched := pgtest.NewPool(t), pgtest.NewPool(t)
		before := catalog(t, initial)
		var phases []repo.LoadPhase
		res, err := repo.New(initial).InitialLoadGraphs(context.Background(), fakeGraphs(7, 1500), repo.InitialLoadOptions{
			Progress: func(p repo.LoadProgress) {
				if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
					phases = append(phases, p.Phase)
				}
			},
		})
		require.NoError(t, err)
		want, err := repo.New(batched).BulkInsertGraphs(context.Background(), fakeGraphs(7, 1500), repo.BulkOptions{BatchSize: 400})
		require.NoError(t, err)
		want.Batches = 0
		require.Equal(t, want, res)
		require.Equal(t, []repo.LoadPhase{repo.PhaseCopying, repo.PhaseIndexes, repo.PhaseForeignKeys, repo.PhaseAnalyzing}, phases)
		require.Equal(t, dump(t, batched), dump(t, initial))
		require.Equal(t, before, catalog(t, initial), "every key, index and foreign key is back, validated")

		// The sequences are past the loaded ids.
		r := repo.New(initial)
		u, err := r.CreateUser(context.Background(), repo.NewUser{Name: "After"})
		require.NoError(t, err)
		require.EqualValues(t, 1501, u.ID)
		p, err := r.CreatePost(context.Background(), repo.NewPost{UserID: u.ID, Title: "After"})
		require.NoError(t, err)
		require.EqualValues(t, 4501, p.ID)
		_, err = r.TagPost(context.Background(), p.ID, "a-new-tag")
		require.NoError(t, err)
	})

	t.Run("Grown", func(t *testing.T) {
		t.Parallel()
		pool := pgtest.NewGrownPool(t)
		ctx := context.Background()
		// Things DROP would lose besides the definitions (Citus refuses
		// CLUSTER ON for a distributed table: "alter table command is
		// currently unsupported").
		lost := `COMMENT ON INDEX users_age_id_idx IS 'ages'; COMMENT ON CONSTRAINT posts_pkey ON posts IS 'the post''s key'`
		if !pgtest.Citus() {
			lost += "; ALTER TABLE posts CLUSTER ON posts_id_idx"
		}
		_, err := pool.Exec(ctx, lost)
		require.NoError(t, err)
		before := catalog(t, pool)
		_, err = repo.New(pool).InitialLoadGraphs(ctx, fakeGraphs(8, 300), repo.InitialLoadOptions{})
		require.NoError(t, err)
		require.Equal(t, before, catalog(t, pool), "the user's table's foreign keys are back too")
		// And they work: a comment needs its post, keeps it, and goes with its user.
		var userID int64
		require.NoError(t, pool.QueryRow(ctx, "SELECT user_id FROM posts WHERE id = 1").Scan(&userID))
		comment := fmt.Sprintf("INSERT INTO %s (user_id, post_id, body) VALUES ($1, $2, 'Nice')", pgtest.GrownTable)
		_, err = pool.Exec(ctx, comment, userID, 1_000_000)
		require.ErrorContains(t, err, "foreign key")
		_, err = pool.Exec(ctx, comment, userID, 1)
		require.NoError(t, err)
		require.ErrorIs(t, repo.New(pool).DeletePost(ctx, 1), repo.ErrConflict, "no cascade from posts")
		require.NoError(t, repo.New(pool).DeleteUser(ctx, userID), "cascade from users")
		var comments int
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+pgtest.GrownTable).Scan(&comments))
		require.Zero(t, comments)
	})

	t.Run("DuplicateEmail", func(t *testing.T) {
		t.Parallel()
		pool := pgtest.NewPool(t)
		before := catalog(t, pool)
		seq := func(yield func(repo.UserGraph, error) bool) {
			for g, err := range fakeGraphs(9, 200) {
				if !yield(g, err) {
					return
				}
			}
			yield(repo.UserGraph{User: repo.NewUser{Name: "Twin"}, Emails: []string{"Twin@Example.com"}}, nil)
			yield(repo.UserGraph{User: repo.NewUser{Name: "Twin"}, Emails: []string{"twin@example.com"}}, nil)
		}
		_, err := repo.New(pool).InitialLoadGraphs(context.Background(), seq, repo.InitialLoadOptions{})
		require.ErrorIs(t, err, repo.ErrConflict)
		var rowErr *repo.RowError
		require.ErrorAs(t, err, &rowErr)
		// Keys come back before indexes: email_owners' key finds the twin
		// before addresses' unique index would.
		require.Equal(t, "email_owners", rowErr.Table)
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr)
		if pgtest.Citus() {
			// Citus relays the worker's error without its table and
			// constraint fields; its message names the shard's index.
			require.Contains(t, pgErr.Message, `could not create unique index "email_owners_pkey_`)
		} else {
			require.Equal(t, "email_owners", pgErr.TableName)
			require.Equal(t, "email_owners_pkey", pgErr.ConstraintName)
		}
		require.Contains(t, pgErr.Detail, "twin@example.com")
		require.ErrorContains(t, err, "twin@example.com", "the message names the key")
		nothingStayed(t, pool, before, 0)
	})

	t.Run("TablesLeftEmpty", func(t *testing.T) {
		t.Parallel()
		pool := pgtest.NewPool(t)
		before := catalog(t, pool)
		// No posts, profiles or tags: the tables that get no row, the
		// streamed one included, are loaded empty.
		res, err := repo.New(pool).InitialLoadGraphs(context.Background(), func(yield func(repo.UserGraph, error) bool) {
			_ = yield(repo.UserGraph{User: repo.NewUser{Name: "Alone"}}, nil) &&
				yield(repo.UserGraph{User: repo.NewUser{Name: "Mailed"}, Emails: []string{"m@example.com"}}, nil)
		}, repo.InitialLoadOptions{})
		require.NoError(t, err)
		require.Equal(t, repo.BulkResult{Users: 2, Addresses: 1}, res)
		require.Equal(t, before, catalog(t, pool))
	})

	t.Run("InvalidRow", func(t *testing.T) {
		t.Parallel()
		pool := pgtest.NewPool(t)
		before := catalog(t, pool)
		seq := func(yield func(repo.UserGraph, error) bool) {
			_ = yield(repo.UserGraph{User: repo.NewUser{Name: "Ok"}}, nil) &&
				yield(repo.UserGraph{User: repo.NewUser{Name: "Old", Age: 151}}, nil)
		}
		_, err := repo.New(pool).InitialLoadGraphs(context.Background(), seq, repo.InitialLoadOptions{})
		require.ErrorIs(t, err, repo.ErrInvalid)
		var rowErr *repo.RowError
		require.ErrorAs(t, err, &rowErr)
		require.EqualValues(t, 2, rowErr.Position)
		nothingStayed(t, pool, before, 0)
	})

	t.Run("RefusedMidCopy", func(t *testing.T) {
		t.Parallel()
		// A CHECK that validation does not know stays on for the copy: the
		// server refuses the row, a few chunks in, and the error names it.
		pool := pgtest.NewPool(t)
		_, err := pool.Exec(context.Background(), "ALTER TABLE posts ADD CONSTRAINT posts_title_allowed CHECK (title <> 'Forbidden')")
		require.NoError(t, err)
		before := catalog(t, pool)
		const bad = 9001
		seq := func(yield func(repo.UserGraph, error) bool) {
			position := 0
			for g, err := range fakeGraphs(5, 10_000) {
				if position++; position == bad {
					g.Posts = append(g.Posts, repo.GraphPost{Title: "Forbidden", Content: "x"})
				}
				if !yield(g, err) {
					return
				}
			}
		}
		_, err = repo.New(pool).InitialLoadGraphs(context.Background(), seq, repo.InitialLoadOptions{})
		require.ErrorIs(t, err, repo.ErrInvalid)
		var rowErr *repo.RowError
		require.ErrorAs(t, err, &rowErr)
		require.Equal(t, "posts", rowErr.Table)
		if pgtest.Citus() {
			// Citus relays no line of a COPY, and a CHECK's detail shows
			// the failing row, not a key the load could look up: the table
			// and the constraint are what it says.
			require.Zero(t, rowErr.Position)
		} else {
			require.EqualValues(t, bad, rowErr.Position)
		}
		require.ErrorContains(t, err, "posts_title_allowed")
		nothingStayed(t, pool, before, 0)
	})

	t.Run("ErrNotEmpty", func(t *testing.T) {
		t.Parallel()
		pool := pgtest.NewPool(t)
		r := repo.New(pool)
		_, err := r.CreateUser(context.Background(), repo.NewUser{Name: "Here"})
		require.NoError(t, err)
		before := catalog(t, pool)
		_, err = r.InitialLoadGraphs(context.Background(), fakeGraphs(1, 10), repo.InitialLoadOptions{})
		require.ErrorIs(t, err, repo.ErrNotEmpty)
		require.ErrorContains(t, err, "users")
		nothingStayed(t, pool, before, 1)
	})

	t.Run("Cancelled", func(t *testing.T) {
		t.Parallel()
		for _, phase := range []repo.LoadPhase{repo.PhaseCopying, repo.PhaseIndexes, repo.PhaseForeignKeys} {
			t.Run(string(phase), func(t *testing.T) {
				t.Parallel()
				pool := pgtest.NewGrownPool(t)
				before := catalog(t, pool)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				_, err := repo.New(pool).InitialLoadGraphs(ctx, fakeGraphs(2, 25_000), repo.InitialLoadOptions{
					Progress: func(p repo.LoadProgress) {
						if p.Phase == phase {
							cancel()
						}
					},
				})
				require.ErrorIs(t, err, context.Canceled)
				nothingStayed(t, pool, before, 0)
				// A load after it works, its ids past the rolled-back ones.
				res, err := repo.New(pool).InitialLoadGraphs(context.Background(), fakeGraphs(2, 10), repo.InitialLoadOptions{})
				require.NoError(t, err)
				require.EqualValues(t, 10, res.Users)
				require.Equal(t, before, catalog(t, pool))
			})
		}
	})
}
