package repo_test

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// methods declares every exported method of *Repo once: where it sends its
// statements, the calls that exercise it with their round-trip budgets, and,
// for a list, a call that finds nothing. TestReplicas/EveryMethodIsRouted,
// TestRoundTrips, TestBadInput and TestEmptyPages run what is declared, and
// TestReadmeRoundTrips checks README.md's table against it. The repository's
// first methods are declared here; a feature declares its own in its own
// test file, with declare (follows_test.go). A method declared nowhere fails
// TestEveryMethodDeclared, one declared twice TestNoMethodDeclaredTwice.
var methods = []method{
	// Reads, on the fixture's rows.
	{name: "GetUser", route: read, samples: ok(1, func(e at) error { return errOf(e.r.GetUser(e.ctx, e.user.ID)) })},
	{name: "GetProfile", route: read, samples: ok(1, func(e at) error { return errOf(e.r.GetProfile(e.ctx, e.user.ID)) })},
	{name: "GetUserWithAddresses", route: read, samples: []sample{
		{name: "OK", trips: 1, call: func(e at) error { return errOf(e.r.GetUserWithAddresses(e.ctx, e.user.ID, e.s)) }},
		{name: "NotFound", trips: 1, want: repo.ErrNotFound, call: func(e at) error { return errOf(e.r.GetUserWithAddresses(e.ctx, e.user.ID+1000, e.s)) }},
	}},
	{name: "ListAddresses", route: read, samples: ok(1, func(e at) error { return errOf(e.r.ListAddresses(e.ctx, e.user.ID)) })},
	// SelectIn: the addresses' query finds the user by name too, one batch.
	{name: "FindUserByName", route: read, samples: []sample{
		{name: "OK", trips: 1, call: func(e at) error { return errOf(e.r.FindUserByName(e.ctx, e.user.Name, e.s)) }},
		{name: "NotFound", trips: 1, want: repo.ErrNotFound, call: func(e at) error { return errOf(e.r.FindUserByName(e.ctx, "Nobody", e.s)) }},
	}},
	{name: "GetPost", route: read, samples: ok(1, func(e at) error { return errOf(e.r.GetPost(e.ctx, e.post.ID, e.s)) })},
	{name: "ListUsers", route: read, samples: []sample{
		{name: "ByID", trips: 1, call: func(e at) error { return errOf(e.r.ListUsers(e.ctx, repo.UserQuery{})) }},
		{name: "ByNameDesc", trips: 1, call: func(e at) error { return errOf(e.r.ListUsers(e.ctx, repo.UserQuery{OrderBy: repo.ByName, Desc: true})) }},
	}, pages: func(e at, limit int, after string) (any, error) { // every user "Sample", 30: ties by id
		return e.r.ListUsers(e.ctx, repo.UserQuery{OrderBy: repo.ByName, Desc: true, MaxAge: ptr[int32](30), Limit: limit, After: after})
	}, fill: threeUsers, empty: func(e at) (any, error) { return e.r.ListUsers(e.ctx, repo.UserQuery{MinAge: tooOld}) }, bad: []func(e at) error{
		func(e at) error { return errOf(e.r.ListUsers(e.ctx, repo.UserQuery{OrderBy: "shoe size"})) },
	}},
	// A page's children are found from the page's arguments, not its ids:
	// SelectIn's two queries go in one batch.
	{name: "ListUsersWithAddresses", route: read, pages: func(e at, limit int, after string) (any, error) {
		return e.r.ListUsersWithAddresses(e.ctx, repo.UserQuery{Limit: limit, After: after}, e.s)
	}, fill: threeUsers, empty: func(e at) (any, error) {
		return e.r.ListUsersWithAddresses(e.ctx, repo.UserQuery{MinAge: tooOld, OrderBy: repo.ByName}, e.s)
	}},
	{name: "ListUsersWithPosts", route: read, samples: []sample{
		{name: "ByID", trips: 1, call: func(e at) error { return errOf(e.r.ListUsersWithPosts(e.ctx, repo.UserQuery{}, e.s)) }},
		{name: "ByAge", trips: 1, call: func(e at) error {
			return errOf(e.r.ListUsersWithPosts(e.ctx, repo.UserQuery{OrderBy: repo.ByAge}, e.s))
		}},
	}, pages: func(e at, limit int, after string) (any, error) {
		return e.r.ListUsersWithPosts(e.ctx, repo.UserQuery{OrderBy: repo.ByAge, Desc: true, Limit: limit, After: after}, e.s)
	}, fill: threePosts, empty: func(e at) (any, error) {
		return e.r.ListUsersWithPosts(e.ctx, repo.UserQuery{MinAge: tooOld, OrderBy: repo.ByAge, Desc: true}, e.s)
	}},
	{name: "ListPosts", route: read, samples: []sample{
		{name: "Asc", trips: 1, call: func(e at) error { return errOf(e.r.ListPosts(e.ctx, repo.PostQuery{}, e.s)) }},
		{name: "Desc", trips: 1, call: func(e at) error { return errOf(e.r.ListPosts(e.ctx, repo.PostQuery{Desc: true}, e.s)) }},
	}, pages: func(e at, limit int, after string) (any, error) {
		return e.r.ListPosts(e.ctx, repo.PostQuery{Desc: true, Limit: limit, After: after}, e.s)
	}, fill: threePosts, empty: func(e at) (any, error) { return e.r.ListPosts(e.ctx, repo.PostQuery{UserID: nobody}, e.s) },
		bad: []func(e at) error{func(e at) error { return errOf(e.r.ListPosts(e.ctx, repo.PostQuery{Tag: "no tag!"}, e.s)) }}},

	// Writes; rows of their own are made with e.prep.
	{name: "CreateUser", route: write, samples: ok(1, func(e at) error { return errOf(e.r.CreateUser(e.ctx, repo.NewUser{Name: "Created"})) }),
		bad: []func(e at) error{
			func(e at) error { return errOf(e.r.CreateUser(e.ctx, repo.NewUser{Name: " "})) },
			func(e at) error { return errOf(e.r.CreateUser(e.ctx, repo.NewUser{Name: "Old", Age: 151})) },
		}},
	{name: "RegisterUser", route: write, samples: []sample{
		{name: "TwoEmails", trips: 1, call: func(e at) error {
			return errOf(e.r.RegisterUser(e.ctx, repo.NewUser{Name: "Registered"}, e.email(), e.email()))
		}},
		// On Citus a taken email fails an insert: the transaction's ROLLBACK,
		// then the next call prepares the failed batch's statements again.
		{name: "TakenEmail", trips: 1, citus: 4, want: repo.ErrConflict, call: func(e at) error {
			return errOf(e.r.RegisterUser(e.ctx, repo.NewUser{Name: "Late"}, e.email(), e.user.Addresses[1].Email))
		}},
		{name: "NoEmail", trips: 1, call: func(e at) error { return errOf(e.r.RegisterUser(e.ctx, repo.NewUser{Name: "Registered"})) }},
	}},
	{name: "UpdateUser", route: write, samples: ok(1, func(e at) error {
		return errOf(e.r.UpdateUser(e.ctx, e.user.ID, repo.UserPatch{Age: ptr(int32(31))}))
	}), bad: []func(e at) error{func(e at) error { return errOf(e.r.UpdateUser(e.ctx, e.user.ID, repo.UserPatch{Name: ptr("")})) }}},
	{name: "DeleteUser", route: write, samples: ok(1, func(e at) error { return e.r.DeleteUser(e.ctx, e.newUser().ID) })},
	{name: "AddAddress", route: write, samples: ok(1, func(e at) error { return errOf(e.r.AddAddress(e.ctx, e.user.ID, e.email())) }),
		bad: []func(e at) error{func(e at) error { return errOf(e.r.AddAddress(e.ctx, e.user.ID, "not an email")) }}},
	{name: "DeleteAddress", route: write, samples: ok(1, func(e at) error {
		a, err := e.prep.AddAddress(bg, e.user.ID, e.email())
		require.NoError(e.t, err)
		return e.r.DeleteAddress(e.ctx, a.ID)
	})},
	{name: "SetProfile", route: write, samples: ok(1, func(e at) error {
		return errOf(e.r.SetProfile(e.ctx, repo.Profile{UserID: e.user.ID, Bio: "bio"}))
	}), bad: []func(e at) error{func(e at) error {
		return errOf(e.r.SetProfile(e.ctx, repo.Profile{UserID: e.user.ID, Website: ptr("ftp://example.com")}))
	}}},
	{name: "CreatePost", route: write, samples: ok(1, func(e at) error {
		return errOf(e.r.CreatePost(e.ctx, repo.NewPost{UserID: e.user.ID, Title: "New"}))
	}), bad: []func(e at) error{
		func(e at) error { return errOf(e.r.CreatePost(e.ctx, repo.NewPost{UserID: e.user.ID})) },
		func(e at) error {
			return errOf(e.r.CreatePost(e.ctx, repo.NewPost{UserID: e.user.ID, Title: "Rated", Rating: 6}))
		},
	}},
	{name: "UpdatePost", route: write, samples: ok(1, func(e at) error {
		return errOf(e.r.UpdatePost(e.ctx, e.post.ID, repo.PostPatch{Title: ptr("Final"), Rating: ptr(4.0)}))
	}), bad: []func(e at) error{func(e at) error { return errOf(e.r.UpdatePost(e.ctx, e.post.ID, repo.PostPatch{Rating: ptr(-1.0)})) }}},
	{name: "DeletePost", route: write, samples: ok(1, func(e at) error { return e.r.DeletePost(e.ctx, e.newPost().ID) })},
	{name: "TagPost", route: write, samples: []sample{
		// On Citus a new tag costs two more: the links of the tags there,
		// the new tags, the links again.
		{name: "TwoTags", trips: 1, citus: 3, call: func(e at) error {
			return errOf(e.r.TagPost(e.ctx, e.newPost().ID, "go", fmt.Sprintf("new-%d", e.n.Add(1))))
		}},
		{name: "NoSuchPost", trips: 1, want: repo.ErrNotFound, call: func(e at) error { return errOf(e.r.TagPost(e.ctx, e.post.ID+1000, "go")) }},
	}, bad: []func(e at) error{func(e at) error { return errOf(e.r.TagPost(e.ctx, e.post.ID, "go", "-dash")) }}},
	{name: "UntagPost", route: write, samples: ok(1, func(e at) error {
		p := e.newPost()
		_, err := e.prep.TagPost(bg, p.ID, "go")
		require.NoError(e.t, err)
		return errOf(e.r.UntagPost(e.ctx, p.ID, "go"))
	})},
	// Reset empties the tables the others read: it runs last.
	{name: "Reset", route: write, last: true, samples: ok(1, func(e at) error { return e.r.Reset(e.ctx) })},

	// Loads (bulk.go, graph.go, upsert.go), counted with one small batch:
	// BEGIN (alone before a COPY, which pgx cannot pipeline), their
	// statements (a COPY takes one or two: pgx may send the data before the
	// server says it is ready, so the bounds allow one more per COPY), COMMIT.
	{name: "BulkCreateUsers", route: write, samples: ok(4, func(e at) error {
		return errOf(e.r.BulkCreateUsers(e.ctx, []repo.NewUser{{Name: "Bulk"}}))
	})},
	{name: "BulkCreatePosts", route: write, samples: ok(4, func(e at) error {
		return errOf(e.r.BulkCreatePosts(e.ctx, one(repo.NewPost{UserID: e.user.ID, Title: "Bulk"}), repo.BulkOptions{}))
	})},
	// BEGIN, tags, ids, five COPYs (users, addresses, email_owners, posts,
	// post_tags) of one or two round trips each, COMMIT. On Citus the tags
	// are read first, and only new ones written: one more for a new tag.
	{name: "BulkInsertGraphs", route: write, samples: []sample{{name: "OK", trips: 14, citus: 15, call: func(e at) error {
		return errOf(e.r.BulkInsertGraphs(e.ctx, one(repo.UserGraph{User: repo.NewUser{Name: "Graph"}, Emails: []string{e.email()},
			Posts: []repo.GraphPost{{Title: "Graph post", Tags: []string{"graph"}}}}), repo.BulkOptions{}))
	}}}},
	{name: "UpsertUsersByEmail", route: write, samples: ok(8, func(e at) error {
		return errOf(e.r.UpsertUsersByEmail(e.ctx, one(repo.UserImport{Email: e.email(), Name: "Imported"}), repo.BulkOptions{}))
	})},
	// The whole load's statements grow with the schema (one per key, index
	// and foreign key): counted here is its refusal of tables with rows,
	// which is all a call on the fixture can be (once per seed: not tuned).
	{name: "InitialLoadGraphs", route: transaction, samples: []sample{{name: "ErrNotEmpty", trips: 8, want: repo.ErrNotEmpty, call: func(e at) error {
		return errOf(e.r.InitialLoadGraphs(e.ctx, one(repo.UserGraph{User: repo.NewUser{Name: "Initial"}}), repo.InitialLoadOptions{}))
	}}}},

	// BEGIN travels with the first statement, COMMIT on its own.
	{name: "InTx", route: transaction, samples: []sample{
		{name: "TwoReads", trips: 3, call: func(e at) error { // the first a pipelined load
			return e.r.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				p, err := tx.GetPost(e.ctx, e.post.ID, repo.SelectIn)
				if err != nil {
					return err
				}
				if len(p.Tags) != 2 {
					return fmt.Errorf("%d tags, not 2", len(p.Tags))
				}
				u, err := tx.GetUserWithAddresses(e.ctx, e.user.ID, repo.SelectIn)
				if err == nil && len(u.Addresses) < 2 { // AddAddress's samples add more
					err = fmt.Errorf("%d addresses, not 2 or more", len(u.Addresses))
				}
				return err
			})
		}},
		{name: "ReadThenWrite", trips: 3, call: func(e at) error {
			return e.r.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				if _, err := tx.ListUsers(e.ctx, repo.UserQuery{}); err != nil {
					return err
				}
				return errOf(tx.CreateUser(e.ctx, repo.NewUser{Name: "In a transaction"}))
			})
		}},
		{name: "NestedRegister", trips: 4, call: func(e at) error {
			return e.r.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				return tx.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error { // BEGIN with SAVEPOINT, RELEASE
					return errOf(tx.RegisterUser(e.ctx, repo.NewUser{Name: "Nested"}, e.email()))
				})
			})
		}},
		{name: "RegisterInside", trips: 2, call: func(e at) error {
			return e.r.InTx(e.ctx, repo.TxOptions{Isolation: repo.Serializable}, func(tx *repo.Repo) error {
				return errOf(tx.RegisterUser(e.ctx, repo.NewUser{Name: "Inside"}, e.email(), e.email()))
			})
		}},
		{name: "Nothing", trips: 0, call: func(e at) error {
			return e.r.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error { return nil })
		}},
	}},

	// No statement at all.
	{name: "Close", route: local, samples: ok(0, func(e at) error {
		// Not e.r's own Close, which would stop the checks the others rely on.
		repo.New(e.pool, repo.WithReplicas(repo.ReplicaOptions{}, e.replicas...)).Close()
		return nil
	})},
	{name: "ReplicaStatuses", route: local, samples: ok(0, func(e at) error {
		require.Len(e.t, e.r.ReplicaStatuses(), len(e.replicas))
		return nil
	})},
	{name: "Stats", route: local, samples: ok(0, func(e at) error {
		require.Len(e.t, e.r.Stats().Replicas, len(e.replicas))
		return nil
	})},
}

// A method is one exported method of *Repo, declared once for every test
// that walks them.
type method struct {
	name  string
	route route
	at    string // where declare was called (file:line); empty in methods' literal
	// samples are calls of the method. Each must end with its want and take
	// at most its trips (README.md's "Round trips" table says the same). A
	// method taking a repo.Strategy runs each with Joined and with SelectIn.
	samples []sample
	// empty, for a method returning a Page, lists nothing on the database
	// of TestEmptyPages (empty, then with a user and a post).
	empty func(e at) (any, error)
	// pages, for a method returning a Page, reads the page of at most limit
	// items (0: the default) after the cursor after, of a list that fill's
	// rows are in (the fixture's user's, say). TestPaging walks it page by page
	// against the list read whole; its first page is the method's sample (1
	// round trip) when samples has none; a limit of -1 or MaxPageSize+1 and
	// a cursor that is not one are bad calls of it, besides bad.
	pages func(e at, limit int, after string) (any, error)
	// fill adds at least three items to what pages lists, with e.prep,
	// tied on the order's keys where it can be (e.exec).
	fill func(e at)
	// bad are calls with input the method refuses: each must end with
	// ErrInvalid (a *FieldError) having sent nothing (TestBadInput,
	// TestRoundTrips and TestReplicas run them as samples of no round trip)
	// and left every table as it was (TestBadInput).
	bad  []func(e at) error
	last bool // empties the tables: runs after every other method
}

// A sample is one call of a method.
type sample struct {
	name  string
	trips int64 // round trips on the wire, at most
	citus int64 // at most on Citus, where it differs (0: as trips)
	want  error // nil, or the sentinel the call ends with (errors.Is)
	call  func(e at) error
}

// at is what a sample's call gets: the Repo under test and the context to
// call it with, another Repo for the rows the call needs first (made with
// bg: neither counted nor routed as the call), and the fixture's rows.
type at struct {
	t    *testing.T
	ctx  context.Context
	r    *repo.Repo    // under test
	s    repo.Strategy // for a method that takes one
	prep *repo.Repo    // on another pool of the same database (TestRoundTrips) or on the primary
	user repo.User     // two addresses and a profile
	post repo.Post     // by user, two tags
	n    *atomic.Int64 // for unique emails and tags
	// The pools r was made with, for a Repo of the call's own.
	pool     *pgxpool.Pool
	replicas []*pgxpool.Pool
}

func (e at) email() string { return fmt.Sprintf("sample%d@example.com", e.n.Add(1)) }

func (e at) newUser() repo.User {
	u, err := e.prep.CreateUser(bg, repo.NewUser{Name: "Sample", Age: 30})
	require.NoError(e.t, err)
	return u
}

func (e at) newPost() repo.Post {
	p, err := e.prep.CreatePost(bg, repo.NewPost{UserID: e.newUser().ID, Title: "Sample"})
	require.NoError(e.t, err)
	return p
}

// threeUsers and threePosts are fills of lists of users and of posts:
// users with the same name and age; three users' posts, two of the first
// (a page may end between them, Joined too).
func threeUsers(e at) {
	for range 3 {
		e.newUser()
	}
}

func threePosts(e at) {
	u := e.newUser()
	for range 2 {
		_, err := e.prep.CreatePost(bg, repo.NewPost{UserID: u.ID, Title: "Sample"})
		require.NoError(e.t, err)
	}
	e.newPost()
	e.newPost()
}

// exec runs a statement of a fill on the database under test: to tie
// rows on a list's order (the same created_at), say.
func (e at) exec(sql string, args ...any) {
	_, err := e.pool.Exec(bg, sql, args...)
	require.NoError(e.t, err)
}

// withFixture makes the rows the samples read, with p, and returns e with
// them (and with p as its prep).
func (e at) withFixture(t *testing.T, p *repo.Repo) at {
	t.Helper()
	var err error
	e.t, e.prep, e.n = t, p, &atomic.Int64{}
	e.user, err = p.RegisterUser(bg, repo.NewUser{Name: "Fixture", Age: 40}, "fixture@example.com", "fixture@work.com")
	require.NoError(t, err)
	_, err = p.SetProfile(bg, repo.Profile{UserID: e.user.ID, Bio: "fixture"})
	require.NoError(t, err)
	e.post, err = p.CreatePost(bg, repo.NewPost{UserID: e.user.ID, Title: "Fixture"})
	require.NoError(t, err)
	_, err = p.TagPost(bg, e.post.ID, "fixture", "wire")
	require.NoError(t, err)
	return e
}

// A run is a sample as a test makes it: with a strategy for a method that
// takes one.
type run struct {
	name string // the sample's, then the strategy's
	s    repo.Strategy
	sample
}

// runs are m's samples, then its bad calls (Bad1, Bad2, ...), each once, or
// with Joined and with SelectIn.
func (m method) runs() []run {
	return append(runsOf(m, m.allSamples()), m.badRuns()...)
}

// allSamples are m's samples, or a list's first page if it has none.
func (m method) allSamples() []sample {
	if len(m.samples) > 0 || m.pages == nil {
		return m.samples
	}
	return ok(1, func(e at) error { return errOf(m.pages(e, 0, "")) })
}

// badRuns are m's bad calls, and a list's bad pages, as samples of no
// round trip.
func (m method) badRuns() []run {
	calls := slices.Clone(m.bad)
	if m.pages != nil {
		for _, p := range []struct {
			limit int
			after string
		}{{-1, ""}, {repo.MaxPageSize + 1, ""}, {0, "not a cursor"}} {
			calls = append(calls, func(e at) error { return errOf(m.pages(e, p.limit, p.after)) })
		}
	}
	bad := make([]sample, len(calls))
	for i, call := range calls {
		bad[i] = sample{name: fmt.Sprintf("Bad%d", i+1), want: repo.ErrInvalid, call: call}
	}
	return runsOf(m, bad)
}

func runsOf(m method, samples []sample) []run {
	var runs []run
	for _, s := range samples {
		for _, st := range m.strategies() {
			runs = append(runs, run{strings.TrimSuffix(s.name+"/"+st.name, "/"), st.s, s})
		}
	}
	return runs
}

type strategy struct {
	name string
	s    repo.Strategy
}

// strategies are what m's calls run with: Joined and SelectIn if it takes a
// repo.Strategy, else one run without.
func (m method) strategies() []strategy {
	rm, ok := reflect.TypeFor[*repo.Repo]().MethodByName(m.name)
	if ok && rm.Type.In(rm.Type.NumIn()-1) == reflect.TypeFor[repo.Strategy]() {
		return []strategy{{"Joined", repo.Joined}, {"SelectIn", repo.SelectIn}}
	}
	return []strategy{{}}
}

// inOrder yields the declared methods sorted by cmp, the one that empties
// the tables last.
func inOrder(cmp func(a, b method) int) iter.Seq[method] {
	ms := slices.Clone(methods)
	slices.SortStableFunc(ms, func(a, b method) int {
		if a.last != b.last {
			if a.last {
				return 1
			}
			return -1
		}
		return cmp(a, b)
	})
	return slices.Values(ms)
}

// ok is the samples of a method with one call that succeeds.
func ok(trips int64, call func(e at) error) []sample {
	return []sample{{name: "OK", trips: trips, call: call}}
}

// errOf is a call's error, its result dropped.
func errOf[T any](_ T, err error) error { return err }

// bg is the context of a call's preparations: never marked, so it leaves
// the context under test as it was.
var bg = context.Background()

func one[T any](v T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) { yield(v, nil) }
}

// What the empty pages ask for.
var (
	nobody = ptr[int64](1 << 40)
	tooOld = ptr[int32](150)
)

// declare adds a feature's methods to methods, from the feature's own test
// file, where a package-level var calls it once:
//
//	var _ = declare(method{name: "Follow", ...}, method{name: "Unfollow", ...})
//
// Every test that walks methods then runs them as it runs the others.
func declare(ms ...method) bool {
	_, file, line, _ := runtime.Caller(1)
	for _, m := range ms {
		m.at = fmt.Sprintf("%s:%d", filepath.Base(file), line)
		methods = append(methods, m)
	}
	return true
}

// declaredTwice names each method ms declare more than once, with where.
func declaredTwice(ms []method) []string {
	where := map[string][]string{}
	var names []string
	for _, m := range ms {
		if where[m.name] == nil {
			names = append(names, m.name)
		}
		where[m.name] = append(where[m.name], cmp.Or(m.at, "methods_test.go (methods)"))
	}
	var twice []string
	for _, name := range names {
		if len(where[name]) > 1 {
			twice = append(twice, fmt.Sprintf("%s: %s", name, strings.Join(where[name], ", ")))
		}
	}
	return twice
}

// TestNoMethodDeclaredTwice: each method has one declaration, in methods or
// in one call of declare, so that its route and budgets are said once.
func TestNoMethodDeclaredTwice(t *testing.T) {
	t.Parallel()
	require.Empty(t, declaredTwice(methods), "methods declared twice; keep one declaration of each")
	// And the check finds one: a method in methods and in a feature's file.
	twice := declaredTwice([]method{{name: "Follow"}, {name: "Reset"}, {name: "Follow", at: "follows_test.go:12"}})
	require.Equal(t, []string{"Follow: methods_test.go (methods), follows_test.go:12"}, twice)
}

// TestEveryMethodDeclared: every exported method of *Repo is declared (in
// methods or by declare), with at least one sample, and an empty page
// exactly when it returns a Page.
func TestEveryMethodDeclared(t *testing.T) {
	t.Parallel()
	declared := map[string]method{}
	for _, m := range methods {
		declared[m.name] = m
	}
	var missing []string
	exported := map[string]bool{}
	for rm := range reflect.TypeFor[*repo.Repo]().Methods() {
		exported[rm.Name] = true
		m, ok := declared[rm.Name]
		pages := rm.Type.NumOut() > 0 && strings.HasPrefix(rm.Type.Out(0).Name(), "Page[")
		if !ok {
			call := fmt.Sprintf("e.r.%s(e.ctx /* , its arguments */)", rm.Name)
			if rm.Type.NumOut() == 2 {
				call = "errOf(" + call + ")"
			}
			entry := fmt.Sprintf("\tmethod{name: %q, route: read /* or write, transaction, local */, samples: ok(1 /* round trips */, func(e at) error {\n\t\treturn %s\n\t})", rm.Name, call)
			if rm.Type.NumIn() > 2 { // arguments beyond ctx: input it may refuse
				entry += fmt.Sprintf(", bad: []func(e at) error{func(e at) error {\n\t\treturn %s /* with input it refuses; or no bad: if none */\n\t}}", call)
			}
			if pages {
				entry = fmt.Sprintf("\tmethod{name: %q, route: read, pages: func(e at, limit int, after string) (any, error) {\n"+
					"\t\treturn e.r.%s(e.ctx /* , arguments that list the fixture's rows (e.user, e.post) and fill's, Limit: limit, After: after */)\n"+
					"\t}, fill: func(e at) {\n\t\t/* add three items to that list with e.prep */\n"+
					"\t}, empty: func(e at) (any, error) {\n\t\treturn e.r.%s(e.ctx /* , arguments that find nothing */)\n\t}", rm.Name, rm.Name, rm.Name)
			}
			missing = append(missing, entry+"},")
			continue
		}
		require.NotEmpty(t, m.allSamples(), "the declaration of %s has no sample", m.name)
		for _, s := range m.allSamples() {
			require.NotEmpty(t, s.name, "the declaration of %s: a sample without a name", m.name)
			require.NotNil(t, s.call, "the declaration of %s: sample %s has no call", m.name, s.name)
		}
		for what, has := range map[string]bool{"empty (TestEmptyPages)": m.empty != nil, "pages (TestPaging)": m.pages != nil, "fill (TestPaging)": m.fill != nil} {
			require.Equal(t, pages, has, "the declaration of %s: a method returning a Page has %s, and only such a method", m.name, what)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("no declaration of these methods of *Repo; add to your feature's test file (internal/repo/<table>_test.go), and fill in:\nvar _ = declare(\n%s\n)", strings.Join(missing, "\n"))
	}
	for name := range declared {
		require.True(t, exported[name], "%s declares %s, which *Repo does not have", cmp.Or(declared[name].at, "methods"), name)
	}
}

// readmeTripsHeader starts README.md's table of round trips.
const readmeTripsHeader = "| method | round trips, at most | on Citus, where it differs |"

// tripsCells are what README.md's table says of m: its budget (one number,
// or each sample's), and each sample's on Citus where it differs.
func (m method) tripsCells() (trips, citus string) {
	var each, onCitus []string
	same := true
	samples := m.allSamples()
	for _, s := range samples {
		each = append(each, fmt.Sprintf("%s %d", s.name, s.trips))
		same = same && s.trips == samples[0].trips
		if s.citus > 0 {
			onCitus = append(onCitus, fmt.Sprintf("%s %d", s.name, s.citus))
		}
	}
	trips = strings.Join(each, ", ")
	if same {
		trips = fmt.Sprint(samples[0].trips)
	}
	return trips, strings.Join(onCitus, ", ")
}

// TestReadmeRoundTrips: README.md's table of round trips says what methods
// declares. A row starts with the methods it is about (`Name`, `Name`, then
// any words); its cells say their budget (tripsCells), optionally followed
// by words in parentheses. A failure says the line to write.
func TestReadmeRoundTrips(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	lines := strings.Split(string(readme), "\n")
	start := slices.Index(lines, readmeTripsHeader)
	require.GreaterOrEqual(t, start, 0, "README.md has no line %q", readmeTripsHeader)
	declared := map[string]method{}
	for _, m := range methods {
		declared[m.name] = m
	}
	says := func(cell, derived string) bool {
		return cell == derived || derived != "" && strings.HasPrefix(cell, derived+" (")
	}
	names := regexp.MustCompile("^`\\w+`(, `\\w+`)*")
	line := func(first string, m method) string {
		trips, citus := m.tripsCells()
		return strings.ReplaceAll(fmt.Sprintf("| %s | %s | %s |", first, trips, citus), "|  |", "| |")
	}
	var problems []string
	seen := map[string]int{}
	for i := start + 2; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
		cells := strings.Split(strings.Trim(lines[i], "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		listed := names.FindString(cells[0])
		if listed == "" {
			problems = append(problems, fmt.Sprintf("README.md line %d names no method (`Name`, `Name` first)", i+1))
			continue
		}
		if len(cells) != 3 {
			cells = append(cells, "", "")[:3] // the line to write has three
			cells[1] = "(not three cells)"
		}
		// The methods of the row, each with its cells.
		var row []method
		for name := range strings.SplitSeq(listed, ", ") {
			name = strings.Trim(name, "`")
			m, ok := declared[name]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("README.md line %d names %s, which no declaration declares", i+1, name))
			case seen[name] > 0:
				problems = append(problems, fmt.Sprintf("README.md lines %d and %d both name %s", seen[name], i+1, name))
			default:
				seen[name] = i + 1
				row = append(row, m)
			}
		}
		var wrong []method
		for _, m := range row {
			if trips, citus := m.tripsCells(); !says(cells[1], trips) || !says(cells[2], citus) {
				wrong = append(wrong, m)
			}
		}
		switch {
		case len(wrong) == 0:
		case len(wrong) == len(row) && sameCells(row):
			problems = append(problems, fmt.Sprintf("README.md line %d: write\n%s", i+1, line(cells[0], row[0])))
		default:
			for _, m := range wrong {
				problems = append(problems, fmt.Sprintf("README.md line %d: %s takes other round trips than the row says; take it out of the row, and write\n%s",
					i+1, m.name, line("`"+m.name+"`", m)))
			}
		}
	}
	for _, m := range methods {
		if seen[m.name] == 0 {
			problems = append(problems, fmt.Sprintf("README.md's round trips have no row for %s; add\n%s", m.name, line("`"+m.name+"`", m)))
		}
	}
	if len(problems) > 0 {
		t.Fatalf("README.md's table of round trips (%s) does not say what the methods' declarations (methods_test.go, declare) say:\n%s",
			readmeTripsHeader, strings.Join(problems, "\n"))
	}
}

// sameCells reports whether README.md's table says the same of all ms.
func sameCells(ms []method) bool {
	trips, citus := ms[0].tripsCells()
	for _, m := range ms[1:] {
		if t, c := m.tripsCells(); t != trips || c != citus {
			return false
		}
	}
	return true
}
