package repo_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// testGraph is the i-th user graph (i from 1) of a small, varied load.
func testGraph(i int) repo.UserGraph {
	g := repo.UserGraph{
		User:   repo.NewUser{Name: fmt.Sprintf("User %03d", i), Age: int32(20 + i%50)},
		Emails: []string{fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("user%d@work.example", i)},
	}
	if i%2 == 0 {
		g.Profile = &repo.GraphProfile{Bio: fmt.Sprintf("Bio %d", i), Website: ptr(fmt.Sprintf("https://%d.example", i))}
	}
	for p := range i % 4 {
		g.Posts = append(g.Posts, repo.GraphPost{Title: fmt.Sprintf("Post %d.%d", i, p), Content: "c",
			Published: p%2 == 0, Rating: float64(p), Tags: []string{"go", fmt.Sprintf("T%d", p), "GO "}})
	}
	return g
}

// seqOf yields the given rows, then an error in place of row failAt (1-based)
// if failAt > 0.
func seqOf[T any](rows []T, failAt int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for i, row := range rows {
			if i+1 == failAt {
				var zero T
				yield(zero, errors.New("source broke"))
				return
			}
			if !yield(row, nil) {
				return
			}
		}
	}
}

func graphs(n int) []repo.UserGraph {
	out := make([]repo.UserGraph, n)
	for i := range out {
		out[i] = testGraph(i + 1)
	}
	return out
}

func (e env) tableCounts(t *testing.T) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, table := range []string{"users", "addresses", "profiles", "posts", "post_tags"} {
		counts[table] = e.rows(t, table)
	}
	return counts
}

func TestBulkInsertGraphs(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.mustRegister(t, "Already here", 50, "here@example.com") // ids do not start at 1
		in := graphs(25)
		var progress []repo.BulkResult
		res, err := e.BulkInsertGraphs(e.ctx, seqOf(in, 0), repo.BulkOptions{
			BatchSize: 10, Progress: func(r repo.BulkResult) { progress = append(progress, r) }})
		require.NoError(t, err)

		want := repo.BulkResult{Batches: 3, Users: 25, Addresses: 50}
		for _, g := range in {
			if g.Profile != nil {
				want.Profiles++
			}
			want.Posts += int64(len(g.Posts))
			want.PostTags += 2 * int64(len(g.Posts)) // "go" (three spellings) and its own tag
		}
		require.Equal(t, want, res)
		require.Len(t, progress, 3)
		require.Equal(t, res, progress[2])
		require.EqualValues(t, 10, progress[0].Users)
		require.Equal(t, map[string]int{"users": 26, "addresses": 51, "profiles": int(want.Profiles),
			"posts": int(want.Posts), "post_tags": int(want.PostTags)}, e.tableCounts(t))

		// Every child row hangs off its own user.
		for i, g := range in {
			u, err := e.FindUserByName(e.ctx, g.User.Name, repo.Joined)
			require.NoError(t, err)
			require.Equal(t, g.User.Age, u.Age)
			require.Equal(t, g.Emails, []string{u.Addresses[0].Email, u.Addresses[1].Email}, "user %d", i+1)
			profile, err := e.GetProfile(e.ctx, u.ID)
			if g.Profile == nil {
				require.ErrorIs(t, err, repo.ErrNotFound)
			} else {
				require.NoError(t, err)
				require.Equal(t, g.Profile.Bio, profile.Bio)
			}
			posts, err := e.ListPosts(e.ctx, repo.PostQuery{UserID: &u.ID}, repo.Joined)
			require.NoError(t, err)
			require.Len(t, posts.Items, len(g.Posts))
			for j, p := range posts.Items {
				require.Equal(t, g.Posts[j].Title, p.Title)
				require.Equal(t, g.Posts[j].Published, p.Published)
				require.Equal(t, []string{"go", fmt.Sprintf("t%d", j)}, tagNames(p.Tags))
			}
		}
		// The sequences moved past the reserved ids: ordinary inserts still work.
		u, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "After", Age: 1}, "after@example.com")
		require.NoError(t, err)
		require.Len(t, u.Addresses, 1)
	})

	t.Run("OneTransaction", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		res, err := e.BulkInsertGraphs(e.ctx, seqOf(graphs(25), 0), repo.BulkOptions{BatchSize: 7, OneTransaction: true})
		require.NoError(t, err)
		require.Equal(t, 4, res.Batches)
		require.Equal(t, 25, e.rows(t, "users"))
	})

	// Each bad row: the error names its position, the batch it is in leaves
	// nothing, and the batches before it stay (or nothing, in one transaction).
	type badCase struct {
		name     string
		in       func(e env) []repo.UserGraph
		failAt   int // the source fails at this row
		position int64
		is       error
		message  string
		// citusMessage, if set, is the message on Citus.
		citusMessage string
	}
	cases := []badCase{
		{name: "ErrInvalidEmail", position: 15, is: repo.ErrInvalid, message: `row 15: invalid input: email "nope"`,
			in: func(env) []repo.UserGraph { g := graphs(25); g[14].Emails[1] = "nope"; return g }},
		{name: "ErrBlankName", position: 12, is: repo.ErrInvalid, message: `row 12: invalid input: name "" must not be blank`,
			in: func(env) []repo.UserGraph { g := graphs(25); g[11].User.Name = ""; return g }},
		{name: "ErrBadTag", position: 19, is: repo.ErrInvalid, message: `row 19: invalid input: tag "no spaces"`,
			in: func(env) []repo.UserGraph {
				g := graphs(25)
				g[18].Posts[0].Tags = []string{"no spaces"}
				return g
			}},
		{name: "ErrDuplicateInBatch", position: 17, is: repo.ErrConflict,
			message: `row 17: conflict: email "USER13@example.com" also in row 13`,
			in:      func(env) []repo.UserGraph { g := graphs(25); g[16].Emails[0] = "USER13@example.com"; return g }},
		{name: "ErrDuplicateOfExisting", position: 16, is: repo.ErrConflict,
			message: `row 16 (addresses): conflict: Key (email_key(email))=(taken@example.com) already exists`,
			// Citus has no unique index on addresses: email_owners' key refuses the row.
			citusMessage: `row 16 (email_owners): conflict: Key (email_key)=(taken@example.com) already exists`,
			in: func(e env) []repo.UserGraph {
				g := graphs(25)
				g[15].Emails[1] = "Taken@example.com"
				return g
			}},
		{name: "ErrSource", position: 14, failAt: 14, message: "row 14: reading input: source broke",
			in: func(env) []repo.UserGraph { return graphs(25) }},
	}
	for _, tc := range cases {
		for _, oneTx := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/OneTransaction=%v", tc.name, oneTx), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				e.mustRegister(t, "Owner", 30, "taken@example.com")
				before := e.tableCounts(t)
				res, err := e.BulkInsertGraphs(e.ctx, seqOf(tc.in(e), tc.failAt), repo.BulkOptions{BatchSize: 10, OneTransaction: oneTx})
				message := tc.message
				if tc.citusMessage != "" && pgtest.Citus() {
					message = tc.citusMessage
				}
				require.ErrorContains(t, err, message)
				if tc.is != nil {
					require.ErrorIs(t, err, tc.is)
					var rowErr *repo.RowError
					require.ErrorAs(t, err, &rowErr)
					require.Equal(t, tc.position, rowErr.Position)
				}
				after := e.tableCounts(t)
				if oneTx {
					require.Equal(t, repo.BulkResult{}, res)
					require.Equal(t, before, after, "one transaction: nothing written")
					return
				}
				require.EqualValues(t, 10, res.Users, "the first batch committed; the failing one left nothing")
				require.Equal(t, before["users"]+10, after["users"])
				require.Equal(t, before["addresses"]+20, after["addresses"])
				require.EqualValues(t, after["posts"]-before["posts"], res.Posts)
			})
		}
	}

	t.Run("ErrBatchSize", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.BulkInsertGraphs(e.ctx, seqOf(graphs(1), 0), repo.BulkOptions{BatchSize: -1})
		require.ErrorIs(t, err, repo.ErrInvalid)
		require.Equal(t, 0, e.rows(t, "users"))
	})
}

// cancelOnCopy cancels a context a moment after a COPY into table starts.
type cancelOnCopy struct {
	table  string
	cancel atomic.Pointer[context.CancelFunc]
	copies atomic.Int64
}

func (c *cancelOnCopy) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	if data.TableName.Sanitize() == (pgx.Identifier{c.table}).Sanitize() {
		c.copies.Add(1)
		if cancel := c.cancel.Load(); cancel != nil {
			time.AfterFunc(5*time.Millisecond, *cancel)
		}
	}
	return ctx
}

func (c *cancelOnCopy) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// pgx takes a tracer through its QueryTracer field and looks for the others.
func (c *cancelOnCopy) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (c *cancelOnCopy) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func TestBulkInsertGraphsCanceledMidCopy(t *testing.T) {
	t.Parallel()
	tracer := &cancelOnCopy{table: "addresses"}
	pool := pgtest.NewPool(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = tracer; c.MaxConns = 2 })
	e := env{Repo: repo.New(pool), pool: pool, ctx: context.Background()}

	// A first batch commits; the second is canceled while its addresses stream.
	const batch = 50_000
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	in := func(yield func(repo.UserGraph, error) bool) {
		for i := range 2 * batch {
			if i == batch {
				tracer.cancel.Store(&cancel) // arm for the second batch
			}
			g := repo.UserGraph{User: repo.NewUser{Name: "U", Age: 1}, Emails: []string{fmt.Sprintf("u%d@example.com", i)}}
			if !yield(g, nil) {
				return
			}
		}
	}
	res, err := e.BulkInsertGraphs(ctx, in, repo.BulkOptions{BatchSize: batch})
	require.ErrorIs(t, err, context.Canceled)
	require.EqualValues(t, 2, tracer.copies.Load(), "the second batch was canceled during its COPY")
	require.EqualValues(t, batch, res.Users)
	require.Equal(t, batch, e.rows(t, "users"), "nothing of the canceled batch is left")
	require.Equal(t, batch, e.rows(t, "addresses"))

	// The pool recovers: the next call works.
	_, err = e.CreateUser(e.ctx, repo.NewUser{Name: "Next", Age: 2})
	require.NoError(t, err)
}

func TestBulkCreatePosts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.mustRegister(t, "Alice", 30)
	posts := make([]repo.NewPost, 30)
	for i := range posts {
		posts[i] = repo.NewPost{UserID: alice.ID, Title: fmt.Sprintf("Post %d", i+1), Rating: 1}
	}

	res, err := e.BulkCreatePosts(e.ctx, seqOf(posts, 0), repo.BulkOptions{BatchSize: 8})
	require.NoError(t, err)
	require.Equal(t, repo.BulkResult{Batches: 4, Posts: 30}, res)

	t.Run("ErrDanglingReference", func(t *testing.T) {
		bad := slices.Clone(posts)
		bad[21].UserID = alice.ID + 1000
		res, err := e.BulkCreatePosts(e.ctx, seqOf(bad, 0), repo.BulkOptions{BatchSize: 8})
		require.ErrorIs(t, err, repo.ErrNotFound)
		var rowErr *repo.RowError
		require.ErrorAs(t, err, &rowErr)
		require.EqualValues(t, 22, rowErr.Position)
		require.ErrorContains(t, err, fmt.Sprintf("Key (user_id)=(%d) is not present", alice.ID+1000))
		require.EqualValues(t, 16, res.Posts, "two batches committed, the third left nothing")
		require.Equal(t, 30+16, e.rows(t, "posts"))
	})
}

func TestUpsertUsersByEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bob := e.mustRegister(t, "Bob", 25, "bob@example.com", "bob@work.com")
	carol := e.mustRegister(t, "Carol", 41, "carol@example.com")

	rows := []repo.UserImport{
		{Email: "BOB@work.com", Name: "Robert", Age: 26},     // update, found by any case
		{Email: "carol@example.com", Name: "Carol", Age: 41}, // unchanged
		{Email: "dave@example.com", Name: "Dave", Age: 33},   // new
		{Email: "erin@example.com", Name: "Erin", Age: 19},   // new
	}
	for _, oneTx := range []bool{false, true} {
		t.Run(fmt.Sprintf("OneTransaction=%v", oneTx), func(t *testing.T) {
			res, err := e.UpsertUsersByEmail(e.ctx, seqOf(rows, 0), repo.BulkOptions{BatchSize: 3, OneTransaction: oneTx})
			require.NoError(t, err)
			if !oneTx {
				require.Equal(t, repo.BulkResult{Batches: 2, Users: 2, Addresses: 2, Updated: 1, Unchanged: 1}, res)
			} else {
				require.Equal(t, repo.BulkResult{Batches: 2, Unchanged: 4}, res, "the second import finds everything as it is")
			}
			got, err := e.GetUser(e.ctx, bob.ID)
			require.NoError(t, err)
			require.Equal(t, "Robert", got.Name)
			require.EqualValues(t, 26, got.Age)
			got, err = e.GetUser(e.ctx, carol.ID)
			require.NoError(t, err)
			require.Equal(t, "Carol", got.Name)
			dave, err := e.FindUserByName(e.ctx, "Dave", repo.SelectIn)
			require.NoError(t, err)
			require.Equal(t, "dave@example.com", dave.Addresses[0].Email)
			require.Equal(t, 4, e.rows(t, "users"))
			require.Equal(t, 5, e.rows(t, "addresses"))
		})
	}

	bad := map[string]struct {
		rows     []repo.UserImport
		position int64
		is       error
	}{
		"ErrInvalidEmail":     {[]repo.UserImport{{Email: "ok@example.com", Name: "A", Age: 1}, {Email: "bad", Name: "B", Age: 1}}, 2, repo.ErrInvalid},
		"ErrInvalidAge":       {[]repo.UserImport{{Email: "x@example.com", Name: "A", Age: 999}}, 1, repo.ErrInvalid},
		"ErrDuplicateInBatch": {[]repo.UserImport{{Email: "z@example.com", Name: "A", Age: 1}, {Email: "Z@example.com", Name: "B", Age: 2}}, 2, repo.ErrConflict},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			before := e.tableCounts(t)
			_, err := e.UpsertUsersByEmail(e.ctx, seqOf(tc.rows, 0), repo.BulkOptions{})
			require.ErrorIs(t, err, tc.is)
			var rowErr *repo.RowError
			require.ErrorAs(t, err, &rowErr)
			require.Equal(t, tc.position, rowErr.Position)
			require.Equal(t, before, e.tableCounts(t))
		})
	}
}

// copyCounter counts the COPYs sent, per table.
type copyCounter struct {
	mu     sync.Mutex
	copies map[string]int
}

func (c *copyCounter) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.copies[strings.Join(data.TableName, ".")]++
	return ctx
}

func (c *copyCounter) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

func (c *copyCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (c *copyCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// counts returns the COPYs per table that fn sent.
func (c *copyCounter) counts(fn func()) map[string]int {
	c.mu.Lock()
	c.copies = map[string]int{}
	c.mu.Unlock()
	fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.copies
}

// A table with no rows in a batch gets no COPY: an empty one is a round trip
// that writes nothing.
func TestBulkInsertGraphsCopiesOnlyTablesWithRows(t *testing.T) {
	t.Parallel()
	tracer := &copyCounter{}
	pool := pgtest.NewPool(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = tracer })
	e := env{Repo: repo.New(pool), pool: pool, ctx: context.Background()}

	// 20 users in two batches: emails, no profile, posts without tags in
	// the first batch only.
	in := make([]repo.UserGraph, 20)
	for i := range in {
		in[i] = repo.UserGraph{User: repo.NewUser{Name: "U", Age: 1}, Emails: []string{fmt.Sprintf("u%d@example.com", i)}}
		if i < 10 {
			in[i].Posts = []repo.GraphPost{{Title: "No tags", Rating: 1}}
		}
	}
	var res repo.BulkResult
	copies := tracer.counts(func() {
		var err error
		res, err = e.BulkInsertGraphs(e.ctx, seqOf(in, 0), repo.BulkOptions{BatchSize: 10})
		require.NoError(t, err)
	})
	require.Equal(t, repo.BulkResult{Batches: 2, Users: 20, Addresses: 20, Posts: 10}, res)
	require.Equal(t, map[string]int{"users": 2, "addresses": 2, "email_owners": 2, "posts": 1}, copies)

	// With tags and profiles, their tables get a COPY per batch.
	copies = tracer.counts(func() {
		_, err := e.BulkInsertGraphs(e.ctx, seqOf(graphs(20), 0), repo.BulkOptions{BatchSize: 10})
		require.NoError(t, err)
	})
	require.Equal(t, map[string]int{"users": 2, "addresses": 2, "email_owners": 2, "profiles": 2, "posts": 2, "post_tags": 2}, copies)
}
