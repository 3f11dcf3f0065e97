package repo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// catalogTables lists the tables of the public schema but goose's own, from
// the catalog: whatever the migrations made.
func catalogTables(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT c.relname FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
		  AND c.relname <> 'goose_db_version' ORDER BY c.relname`)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NotEmpty(t, names)
	return names
}

// snapshot renders every row of every table and the state of every sequence
// of the schema, to show that something left them exactly as they were.
func snapshot(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, table := range catalogTables(t, pool) {
		var rows string
		require.NoError(t, pool.QueryRow(ctx, fmt.Sprintf(
			"SELECT coalesce(json_agg(t ORDER BY t::text), '[]')::text FROM %s t", pgx.Identifier{table}.Sanitize())).Scan(&rows))
		fmt.Fprintf(&b, "%s: %s\n", table, rows)
	}
	var sequences string
	require.NoError(t, pool.QueryRow(ctx, `
		SELECT coalesce(json_agg(json_build_array(sequencename, last_value) ORDER BY sequencename), '[]')::text
		FROM pg_sequences WHERE schemaname = 'public'`).Scan(&sequences))
	fmt.Fprintf(&b, "sequences: %s\n", sequences)
	return b.String()
}

// fill writes rows with the repository's calls (users with addresses,
// profiles, posts with tags) and, on the grown schema, to the grown tables
// (pgtest.FillGrown: comments that keep their posts, no cascade, and rows
// that refer to other users' posts), and returns the tables that then have
// rows. The tables its calls write (fillWrites) must have rows, so that
// Reset is shown emptying tables with rows of each kind; which other tables
// got rows is read from the catalog after the fill, not declared: a table of
// yours that these calls do not write stays empty (Reset must empty it all
// the same), and is named in the log.
func fill(t *testing.T, e env) (filled []string) {
	t.Helper()
	for i, name := range []string{"Ann", "Ben", "Cy"} {
		u := e.mustRegister(t, name, int32(30+i), strings.ToLower(name)+"@example.com")
		e.mustPost(t, u.ID, name+"'s post", "go", "sql")
		_, err := e.SetProfile(e.ctx, repo.Profile{UserID: u.ID, Bio: "hi"})
		require.NoError(t, err)
	}
	if grownTable(t, e.pool) {
		pgtest.FillGrown(t, e.pool)
	}
	var empty []string
	for _, table := range catalogTables(t, e.pool) {
		if e.rows(t, table) > 0 {
			filled = append(filled, table)
		} else {
			empty = append(empty, table)
		}
	}
	for _, table := range fillWrites {
		require.Contains(t, filled, table, "fill's calls write %s, and it has no rows", table)
	}
	if len(empty) > 0 {
		t.Logf("fill: tables its calls do not write, left without rows: %s", strings.Join(empty, ", "))
	}
	return filled
}

// fillWrites are the tables fill's calls (RegisterUser, CreatePost, TagPost,
// SetProfile) write.
var fillWrites = []string{"users", "addresses", "profiles", "posts", "tags", "post_tags"}

func grownTable(t *testing.T, pool *pgxpool.Pool) bool {
	t.Helper()
	var exists bool
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT to_regclass($1) IS NOT NULL", pgtest.GrownTable).Scan(&exists))
	return exists
}

// writeEverything creates rows with every method that takes ids from the
// sequences, and returns the new user ids.
func writeEverything(t *testing.T, e env) []int64 {
	t.Helper()
	created, err := e.CreateUser(e.ctx, repo.NewUser{Name: "Dee", Age: 40})
	require.NoError(t, err)
	registered, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "Eli", Age: 41}, "eli@example.com")
	require.NoError(t, err)
	res, err := e.BulkInsertGraphs(e.ctx, func(yield func(repo.UserGraph, error) bool) {
		yield(repo.UserGraph{User: repo.NewUser{Name: "Flo", Age: 42}, Emails: []string{"flo@example.com"},
			Posts: []repo.GraphPost{{Title: "Bulk", Tags: []string{"go"}}}}, nil)
	}, repo.BulkOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Users)
	flo, err := e.FindUserByName(e.ctx, "Flo", repo.SelectIn)
	require.NoError(t, err)
	return []int64{created.ID, registered.ID, flo.ID}
}

// resetSchemas are the schemas the Reset tests run on: the embedded
// migrations', and the grown one (pgtest.Grown), whose tables a user added
// refer to users, to posts, to each other and to other users' rows, or to
// nothing.
var resetSchemas = map[string]func(testing.TB, ...func(*pgxpool.Config)) *pgxpool.Pool{
	"Embedded": pgtest.NewPool,
	"Grown":    pgtest.NewGrownPool,
}

// TestReset empties every table the migrations made, found from the catalog
// (on the grown schema too, whose tables refer to users and posts, with and
// without cascades, and across users), restarts ids at 1 when it commits, and changes nothing, rows or
// sequences, when its transaction rolls back.
func TestReset(t *testing.T) {
	t.Parallel()
	for name, newPool := range resetSchemas {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			newEnv := func(t *testing.T) env {
				pool := newPool(t)
				return env{Repo: repo.New(pool), pool: pool, ctx: context.Background()}
			}

			t.Run("RolledBack", func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				fill(t, e)
				before := snapshot(t, e.pool)
				boom := errors.New("boom")
				var reset error // not require in fn: it would end the goroutine with the transaction open
				err := e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
					reset = tx.Reset(e.ctx)
					return boom
				})
				require.NoError(t, reset)
				require.ErrorIs(t, err, boom)
				require.Equal(t, before, snapshot(t, e.pool), "rows and sequences as they were")
				ids := writeEverything(t, e)
				require.Equal(t, []int64{4, 5, 6}, ids, "ids go on from where they were")
			})

			t.Run("RolledBackSavepoint", func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				fill(t, e)
				before := snapshot(t, e.pool)
				var reset, nested error
				err := e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
					nested = tx.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
						reset = tx.Reset(e.ctx)
						return errors.New("undo the reset")
					})
					return nil
				})
				require.NoError(t, err)
				require.NoError(t, reset)
				require.ErrorContains(t, nested, "undo the reset")
				require.Equal(t, before, snapshot(t, e.pool))
			})

			t.Run("Committed", func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				filled := fill(t, e)
				require.NoError(t, e.Reset(e.ctx))
				for _, table := range catalogTables(t, e.pool) { // the filled ones among them
					require.Zero(t, e.rows(t, table), "%s (rows before Reset: %v)", table, slices.Contains(filled, table))
				}
				var all, used []string // the id sequence of every table, the grown ones' too, restarted
				require.NoError(t, e.pool.QueryRow(e.ctx, `
					SELECT coalesce(array_agg(ps.sequencename ORDER BY ps.sequencename), '{}'),
					       coalesce(array_agg(ps.sequencename ORDER BY ps.sequencename) FILTER (WHERE ps.last_value IS NOT NULL), '{}')
					FROM pg_depend d
					JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
					JOIN pg_sequences ps ON ps.schemaname = 'public' AND ps.sequencename = s.relname
					WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
					  AND d.deptype IN ('a', 'i') AND d.refobjid::regclass::text = ANY($1)`,
					catalogTables(t, e.pool)).Scan(&all, &used))
				require.NotEmpty(t, all)
				require.Empty(t, used, "sequences not restarted")
				t.Logf("restarted: %s", strings.Join(all, ", "))
				require.Equal(t, []int64{1, 2, 3}, writeEverything(t, e), "ids restart at 1")
				eli, err := e.GetUserWithAddresses(e.ctx, 2, repo.Joined)
				require.NoError(t, err)
				require.EqualValues(t, 1, eli.Addresses[0].ID, "in every table")
			})

			t.Run("CommittedInTx", func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				fill(t, e)
				require.NoError(t, e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error { return tx.Reset(e.ctx) }))
				require.Equal(t, []int64{1, 2, 3}, writeEverything(t, e))
			})
		})
	}
}

// TestResetErrReferencedFromOutside: a table outside the schema that refers
// to one inside keeps Reset from emptying it; the error says which table, as
// PostgreSQL's detail does, and nothing is emptied, on the grown schema too.
func TestResetErrReferencedFromOutside(t *testing.T) {
	t.Parallel()
	for name, newPool := range resetSchemas {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pool := newPool(t)
			e := env{Repo: repo.New(pool), pool: pool, ctx: context.Background()}
			fill(t, e)
			_, err := e.pool.Exec(e.ctx, `CREATE SCHEMA audit;
				CREATE TABLE audit.logins (user_id bigint REFERENCES public.users (id))`)
			require.NoError(t, err)
			before := snapshot(t, e.pool)

			err = e.Reset(e.ctx)
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr)
			require.Equal(t, pgerrcode.FeatureNotSupported, pgErr.Code)
			require.ErrorContains(t, err, `reset: Table "logins" references "users".`)
			require.Equal(t, before, snapshot(t, e.pool))
		})
	}
}

// TestResetErrNotAllowed: Reset borrows the owner's right to restart
// sequences, never the right to empty a table. A table the caller may not
// truncate (an append-only log) stops it, named, and nothing is emptied, on
// the grown schema too.
func TestResetErrNotAllowed(t *testing.T) {
	t.Parallel()
	for name, newPool := range resetSchemas {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pool := newPool(t)
			e := env{Repo: repo.New(pool), pool: pool, ctx: context.Background()}
			fill(t, e)
			_, err := e.pool.Exec(e.ctx, `CREATE TABLE audit_log (line text);
				INSERT INTO audit_log VALUES ('kept');
				REVOKE TRUNCATE ON audit_log FROM current_user`)
			require.NoError(t, err)
			before := snapshot(t, e.pool)

			err = e.Reset(e.ctx)
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr)
			require.Equal(t, pgerrcode.InsufficientPrivilege, pgErr.Code)
			require.ErrorContains(t, err, "may not truncate public.audit_log")
			require.Equal(t, before, snapshot(t, e.pool))
		})
	}
}
