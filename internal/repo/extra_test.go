package repo_test

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/fakedata"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// The tables of CONTRIBUTING's "Adding a table to the seed", declared for
// the loads: a user's bookmarks of posts (pgtest.GrownBookmarks; its
// note_length is generated, so not declared) and comments on them
// (pgtest.GrownTable; its id comes from its identity, so not declared).
var (
	bookmarks = repo.ExtraTable{Name: pgtest.GrownBookmarks, Columns: []string{"user_id", "post_user_id", "post_id", "note"}}
	comments  = repo.ExtraTable{Name: pgtest.GrownTable, Columns: []string{"user_id", "post_id", "body"}}
)

// addBookmarks is the generator's hook (fakedata.Config.Extra): each user
// bookmarks some of their posts and comments on the first.
func addBookmarks(r *rand.Rand, _ int, g *repo.UserGraph) {
	for i := range g.Posts {
		if r.IntN(2) == 0 {
			g.Rows = append(g.Rows, repo.TableRow{Table: bookmarks.Name,
				Values: []any{repo.ThisUser, repo.ThisUser, repo.PostOf(i), "read later"}})
		}
	}
	if len(g.Posts) > 0 {
		g.Rows = append(g.Rows, repo.TableRow{Table: comments.Name,
			Values: []any{repo.ThisUser, repo.PostOf(0), "First!"}})
	}
}

// extraGraphs are n generated graphs with rows of the declared tables.
func extraGraphs(n int) []repo.UserGraph {
	gen := fakedata.New(fakedata.Config{Seed: 11, AddressesPerUser: 1, PostsPerUser: 3, Tags: 10,
		Tables: []repo.ExtraTable{bookmarks, comments}, Extra: addBookmarks})
	var out []repo.UserGraph
	for g := range gen.Users(n) {
		out = append(out, g)
	}
	return out
}

func seqGraphs(gs []repo.UserGraph) iter.Seq2[repo.UserGraph, error] {
	return func(yield func(repo.UserGraph, error) bool) {
		for _, g := range gs {
			if !yield(g, nil) {
				return
			}
		}
	}
}

// extraDump is the rows of the declared tables, ids included, in order.
func extraDump(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), fmt.Sprintf(`
		SELECT * FROM (SELECT format('bookmark %%s %%s %%s %%s %%s', user_id, post_user_id, post_id, note, note_length) FROM %s
		UNION ALL SELECT format('comment %%s %%s %%s %%s', id, user_id, post_id, body) FROM %s) r ORDER BY 1`,
		pgtest.GrownBookmarks, pgtest.GrownTable))
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

// expectedExtra is what the declared tables should hold once gs are
// loaded into pool: the Refs resolved by the users' and posts' ids, which
// are handed out in the graphs' order.
func expectedExtra(t *testing.T, pool *pgxpool.Pool, gs []repo.UserGraph) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, "SELECT id FROM users ORDER BY id")
	require.NoError(t, err)
	users, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	rows, err = pool.Query(ctx, "SELECT id FROM posts ORDER BY id")
	require.NoError(t, err)
	posts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Len(t, users, len(gs))
	var out []string
	comment := int64(0)
	for i, g := range gs {
		mine := posts[:len(g.Posts)]
		posts = posts[len(g.Posts):]
		for _, r := range g.Rows {
			v := slices.Clone(r.Values)
			for j := range v {
				switch v[j] {
				case repo.ThisUser:
					v[j] = users[i]
				default:
					for k := range mine {
						if v[j] == repo.PostOf(k) {
							v[j] = mine[k]
						}
					}
				}
			}
			if r.Table == bookmarks.Name {
				out = append(out, fmt.Sprintf("bookmark %v %v %v %v %d", v[0], v[1], v[2], v[3], len(v[3].(string))))
			} else {
				comment++
				out = append(out, fmt.Sprintf("comment %d %v %v %v", comment, v[0], v[1], v[2]))
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestExtraTables: rows of a user's own tables (declared, ExtraTable) come
// with the graphs and are loaded by the initial load and the batched path
// alike, ids included, as given; the initial load puts the tables' keys and
// foreign keys back as they were. On Citus the grown tables are distributed
// by user_id, co-located with users.
func TestExtraTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gs := extraGraphs(60)
	var given int64
	for _, g := range gs {
		given += int64(len(g.Rows))
	}
	require.NotZero(t, given)
	tables := []repo.ExtraTable{bookmarks, comments}

	initial, batched := pgtest.NewGrownPool(t), pgtest.NewGrownPool(t)
	if pgtest.Citus() {
		for _, table := range []string{pgtest.GrownBookmarks, pgtest.GrownTable} {
			var colocated bool
			require.NoError(t, initial.QueryRow(ctx, `SELECT d.colocationid = u.colocationid AND d.partkey IS NOT NULL
				FROM pg_dist_partition d, pg_dist_partition u
				WHERE d.logicalrelid = $1::regclass AND u.logicalrelid = 'users'::regclass`, table).Scan(&colocated))
			require.True(t, colocated, "%s distributed by user_id, co-located with users", table)
		}
	}
	before := catalog(t, initial)
	var steps []string
	res, err := repo.New(initial).InitialLoadGraphs(ctx, seqGraphs(gs), repo.WithPartBytes(repo.InitialLoadOptions{
		Tables: tables,
		Progress: func(p repo.LoadProgress) {
			if p.Phase == repo.PhaseCopying && p.Done > 0 {
				steps = append(steps, p.Step)
			}
		},
	}, 512))
	require.NoError(t, err)
	require.Equal(t, given, res.Extra)
	require.Contains(t, steps, pgtest.GrownBookmarks)
	require.Equal(t, before, catalog(t, initial), "the declared tables' keys, indexes and foreign keys are back")

	want, err := repo.New(batched).BulkInsertGraphs(ctx, seqGraphs(gs), repo.BulkOptions{BatchSize: 7, Tables: tables})
	require.NoError(t, err)
	require.Equal(t, 9, want.Batches)
	want.Batches = 0
	require.Equal(t, want, res)

	require.Equal(t, dump(t, batched), dump(t, initial))
	require.Equal(t, extraDump(t, batched), extraDump(t, initial), "both loads, row for row")
	require.Equal(t, expectedExtra(t, initial, gs), extraDump(t, initial), "as given")

	// Without declared tables, nothing changes for a caller who uses none.
	plain := pgtest.NewGrownPool(t)
	res, err = repo.New(plain).InitialLoadGraphs(ctx, fakeGraphs(3, 5), repo.InitialLoadOptions{})
	require.NoError(t, err)
	require.Zero(t, res.Extra)
}

// TestExtraTablesInvalid: a declaration the catalog refuses, or a row that
// does not fit its declaration, fails either load with ErrInvalid, the row's
// position named, and nothing written.
func TestExtraTablesInvalid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewGrownPool(t)
	r := repo.New(pool)
	e := env{pool: pool, ctx: ctx}
	before := catalog(t, pool)
	good := extraGraphs(3)
	both := []repo.ExtraTable{bookmarks, comments}
	plain := slices.Clone(good) // no rows of the declared tables: the declaration is at fault
	for i := range plain {
		plain[i].Rows = nil
	}
	bad := func(rows ...repo.TableRow) []repo.UserGraph {
		gs := slices.Clone(good)
		gs[1].Rows = append(slices.Clone(gs[1].Rows), rows...)
		return gs
	}
	for _, c := range []struct {
		name     string
		tables   []repo.ExtraTable
		graphs   []repo.UserGraph
		position int64 // 0: not a row's mistake, the declaration's
		message  string
	}{
		{"UndeclaredTable", both, bad(repo.TableRow{Table: "nope", Values: []any{1}}), 2, "is not declared"},
		{"WrongNumberOfValues", both, bad(repo.TableRow{Table: bookmarks.Name, Values: []any{repo.ThisUser}}), 2, "one per declared column"},
		{"NoSuchPost", both, bad(repo.TableRow{Table: bookmarks.Name,
			Values: []any{repo.ThisUser, repo.ThisUser, repo.PostOf(3), ""}}), 2, "names no post"},
		{"ZeroRef", both, bad(repo.TableRow{Table: bookmarks.Name,
			Values: []any{repo.ThisUser, repo.Ref{}, repo.PostOf(0), ""}}), 2, "names no post"},
		{"UserBeforeZero", both, bad(repo.TableRow{Table: bookmarks.Name,
			Values: []any{repo.ThisUser, repo.UserBefore(0), repo.PostOf(0), ""}}), 2, "names no graph before this one"},
		{"UserBeforeTheFirst", both, bad(repo.TableRow{Table: bookmarks.Name,
			Values: []any{repo.ThisUser, repo.UserBefore(2), repo.PostOf(0), ""}}), 2, "names no graph before this one (it is row 2"},
		{"UnencodableValue", both, bad(repo.TableRow{Table: bookmarks.Name,
			Values: []any{repo.ThisUser, repo.ThisUser, repo.PostOf(0), struct{}{}}}), 2, "cannot be encoded"},
		{"UnknownColumn", []repo.ExtraTable{{Name: bookmarks.Name, Columns: []string{"user_id", "colour"}}}, plain, 0, "has no column colour"},
		{"GeneratedColumn", []repo.ExtraTable{{Name: bookmarks.Name, Columns: []string{"user_id", "note_length"}}}, plain, 0, "is generated"},
		{"NoColumns", []repo.ExtraTable{{Name: bookmarks.Name}}, plain, 0, "declares no column"},
		{"NoSuchTable", []repo.ExtraTable{{Name: "no_such_table", Columns: []string{"id"}}}, plain, 0, "does not exist"},
		{"OwnTable", []repo.ExtraTable{{Name: "posts", Columns: []string{"title"}}}, plain, 0, "repository's own"},
		{"TwiceDeclared", []repo.ExtraTable{bookmarks, bookmarks}, plain, 0, "declared twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			check := func(err error) {
				t.Helper()
				require.ErrorIs(t, err, repo.ErrInvalid)
				require.ErrorContains(t, err, c.message)
				var rowErr *repo.RowError
				if c.position > 0 {
					require.ErrorAs(t, err, &rowErr)
					require.Equal(t, c.position, rowErr.Position)
				}
				require.Zero(t, e.rows(t, "users"), "nothing written")
				require.Zero(t, e.rows(t, pgtest.GrownBookmarks), "nothing written")
				require.Equal(t, before, catalog(t, pool))
			}
			_, err := r.InitialLoadGraphs(ctx, seqGraphs(c.graphs), repo.InitialLoadOptions{Tables: c.tables})
			check(err)
			_, err = r.BulkInsertGraphs(ctx, seqGraphs(c.graphs), repo.BulkOptions{Tables: c.tables})
			check(err)
		})
	}
}

// TestExtraTablesParentsFirst: the batched load copies a declared table
// after the declared tables it refers to, whatever the order declared
// (here a comment's reaction is declared before the comments).
func TestExtraTablesParentsFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewGrownPool(t)
	commentsWithID := repo.ExtraTable{Name: pgtest.GrownTable, Columns: []string{"user_id", "id", "post_id", "body"}}
	reactions := repo.ExtraTable{Name: pgtest.GrownReactions, Columns: []string{"user_id", "comment_id", "kind", "stars"}}
	g := repo.UserGraph{User: repo.NewUser{Name: "Ada", Age: 36}, Posts: []repo.GraphPost{{Title: "Notes"}},
		Rows: []repo.TableRow{
			{Table: pgtest.GrownReactions, Values: []any{repo.ThisUser, int64(1000), "like", nil}},
			{Table: pgtest.GrownTable, Values: []any{repo.ThisUser, int64(1000), repo.PostOf(0), "First!"}},
		}}
	res, err := repo.New(pool).BulkInsertGraphs(ctx, seqGraphs([]repo.UserGraph{g}),
		repo.BulkOptions{Tables: []repo.ExtraTable{reactions, commentsWithID}})
	require.NoError(t, err)
	require.Equal(t, int64(2), res.Extra)
}
