package repo_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// route is where a method of *Repo must send its statements.
type route int

const (
	// read: a replica fresh enough for the context (read-your-writes), else
	// the primary.
	read route = iota + 1
	// write: the primary; the context is marked, so that its later reads see
	// the write.
	write
	// transaction: the primary (reads included); the context is marked.
	transaction
	// local: no statement at all.
	local
)

func (r route) String() string {
	return [...]string{"", "read", "write", "transaction", "local"}[r]
}

// routingFixture is what the calls below read: rows every replica has.
type routingFixture struct {
	user    repo.User
	post    repo.Post
	primary *pgxpool.Pool
	replica *pgxpool.Pool
	n       *atomic.Int64 // for unique names and emails
}

func (f routingFixture) email() string { return fmt.Sprintf("routing%d@example.com", f.n.Add(1)) }

// bg is the context of a call's preparations: never marked, so it leaves
// the context under test as it was.
var bg = context.Background()

func one[T any](v T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) { yield(v, nil) }
}

// routes classifies every exported method of *Repo and calls it with ctx.
// A method missing here fails TestReplicas/EveryMethodIsRouted: add it, with
// its route, when you add the method.
var routes = map[string]struct {
	route route
	call  func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error
}{
	// Reads, on rows the replica has.
	"FindUserByName": {read, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		if _, err := r.FindUserByName(ctx, f.user.Name, repo.Joined); err != nil {
			return err
		}
		_, err := r.FindUserByName(ctx, f.user.Name, repo.SelectIn)
		return err
	}},
	"GetPost": {read, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		if _, err := r.GetPost(ctx, f.post.ID, repo.Joined); err != nil {
			return err
		}
		_, err := r.GetPost(ctx, f.post.ID, repo.SelectIn)
		return err
	}},
	"GetProfile": {read, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		_, err := r.GetProfile(ctx, f.user.ID)
		return err
	}},
	"GetUser": {read, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		_, err := r.GetUser(ctx, f.user.ID)
		return err
	}},
	"GetUserWithAddresses": {read, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		if _, err := r.GetUserWithAddresses(ctx, f.user.ID, repo.Joined); err != nil {
			return err
		}
		_, err := r.GetUserWithAddresses(ctx, f.user.ID, repo.SelectIn)
		return err
	}},
	"ListPosts": {read, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		if _, err := r.ListPosts(ctx, repo.PostQuery{}, repo.Joined); err != nil {
			return err
		}
		_, err := r.ListPosts(ctx, repo.PostQuery{Desc: true}, repo.SelectIn)
		return err
	}},
	"ListUsers": {read, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		_, err := r.ListUsers(ctx, repo.UserQuery{OrderBy: repo.ByName, Desc: true})
		return err
	}},
	"ListUsersWithAddresses": {read, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		if _, err := r.ListUsersWithAddresses(ctx, repo.UserQuery{}, repo.Joined); err != nil {
			return err
		}
		_, err := r.ListUsersWithAddresses(ctx, repo.UserQuery{}, repo.SelectIn)
		return err
	}},
	"ListUsersWithPosts": {read, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		if _, err := r.ListUsersWithPosts(ctx, repo.UserQuery{OrderBy: repo.ByAge}, repo.Joined); err != nil {
			return err
		}
		_, err := r.ListUsersWithPosts(ctx, repo.UserQuery{OrderBy: repo.ByAge}, repo.SelectIn)
		return err
	}},

	// Writes, each preparing what it needs with bg.
	"AddAddress": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		u, err := r.CreateUser(bg, repo.NewUser{Name: "Adder"})
		require.NoError(t, err)
		_, err = r.AddAddress(ctx, u.ID, f.email())
		return err
	}},
	"BulkCreatePosts": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		u, err := r.CreateUser(bg, repo.NewUser{Name: "Poster"})
		require.NoError(t, err)
		_, err = r.BulkCreatePosts(ctx, one(repo.NewPost{UserID: u.ID, Title: "Bulk"}), repo.BulkOptions{})
		return err
	}},
	"BulkCreateUsers": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		_, err := r.BulkCreateUsers(ctx, []repo.NewUser{{Name: "Bulk"}})
		return err
	}},
	"BulkInsertGraphs": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		_, err := r.BulkInsertGraphs(ctx, one(repo.UserGraph{User: repo.NewUser{Name: "Graph"}, Emails: []string{f.email()},
			Posts: []repo.GraphPost{{Title: "Graph post", Tags: []string{"graph"}}}}), repo.BulkOptions{})
		return err
	}},
	"InitialLoadGraphs": {transaction, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		// The fixture's rows are there: refused, after reading the catalog.
		_, err := r.InitialLoadGraphs(ctx, one(repo.UserGraph{User: repo.NewUser{Name: "Initial"}}), repo.InitialLoadOptions{})
		if errors.Is(err, repo.ErrNotEmpty) {
			return nil
		}
		return err
	}},
	"CreatePost": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		u, err := r.CreateUser(bg, repo.NewUser{Name: "Author"})
		require.NoError(t, err)
		_, err = r.CreatePost(ctx, repo.NewPost{UserID: u.ID, Title: "New"})
		return err
	}},
	"CreateUser": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		_, err := r.CreateUser(ctx, repo.NewUser{Name: "Created"})
		return err
	}},
	"DeleteAddress": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		u, err := r.RegisterUser(bg, repo.NewUser{Name: "Deleter"}, f.email())
		require.NoError(t, err)
		return r.DeleteAddress(ctx, u.Addresses[0].ID)
	}},
	"DeletePost": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		u, err := r.CreateUser(bg, repo.NewUser{Name: "Deleter"})
		require.NoError(t, err)
		p, err := r.CreatePost(bg, repo.NewPost{UserID: u.ID, Title: "Doomed"})
		require.NoError(t, err)
		return r.DeletePost(ctx, p.ID)
	}},
	"DeleteUser": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		u, err := r.CreateUser(bg, repo.NewUser{Name: "Doomed"})
		require.NoError(t, err)
		return r.DeleteUser(ctx, u.ID)
	}},
	"RegisterUser": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		_, err := r.RegisterUser(ctx, repo.NewUser{Name: "Registered"}, f.email())
		return err
	}},
	"Reset": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		return r.Reset(ctx)
	}},
	"SetProfile": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		u, err := r.CreateUser(bg, repo.NewUser{Name: "Profiled"})
		require.NoError(t, err)
		_, err = r.SetProfile(ctx, repo.Profile{UserID: u.ID, Bio: "bio"})
		return err
	}},
	"TagPost": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		u, err := r.CreateUser(bg, repo.NewUser{Name: "Tagger"})
		require.NoError(t, err)
		p, err := r.CreatePost(bg, repo.NewPost{UserID: u.ID, Title: "Tagged"})
		require.NoError(t, err)
		_, err = r.TagPost(ctx, p.ID, "go")
		return err
	}},
	"UntagPost": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		u, err := r.CreateUser(bg, repo.NewUser{Name: "Untagger"})
		require.NoError(t, err)
		p, err := r.CreatePost(bg, repo.NewPost{UserID: u.ID, Title: "Tagged"})
		require.NoError(t, err)
		_, err = r.TagPost(bg, p.ID, "go")
		require.NoError(t, err)
		_, err = r.UntagPost(ctx, p.ID, "go")
		return err
	}},
	"UpdatePost": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		u, err := r.CreateUser(bg, repo.NewUser{Name: "Editor"})
		require.NoError(t, err)
		p, err := r.CreatePost(bg, repo.NewPost{UserID: u.ID, Title: "Draft"})
		require.NoError(t, err)
		_, err = r.UpdatePost(ctx, p.ID, repo.PostPatch{Title: ptr("Final")})
		return err
	}},
	"UpdateUser": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		u, err := r.CreateUser(bg, repo.NewUser{Name: "Before"})
		require.NoError(t, err)
		_, err = r.UpdateUser(ctx, u.ID, repo.UserPatch{Name: ptr("After")})
		return err
	}},
	"UpsertUsersByEmail": {write, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		_, err := r.UpsertUsersByEmail(ctx, one(repo.UserImport{Email: f.email(), Name: "Imported"}), repo.BulkOptions{})
		return err
	}},

	"InTx": {transaction, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		return r.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
			if _, err := tx.ListUsers(ctx, repo.UserQuery{}); err != nil {
				return err
			}
			_, err := tx.CreateUser(ctx, repo.NewUser{Name: "In a transaction"})
			return err
		})
	}},

	"Close": {local, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		// Not r's own Close, which would stop the checks the others rely on.
		other := repo.New(f.primary, repo.WithReplicas(repo.ReplicaOptions{}, f.replica))
		other.Close()
		return nil
	}},
	"ReplicaStatuses": {local, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		require.Len(t, r.ReplicaStatuses(), 1)
		return nil
	}},
	"Stats": {local, func(t *testing.T, ctx context.Context, r *repo.Repo, f routingFixture) error {
		require.Len(t, r.Stats().Replicas, 1)
		return nil
	}},
}

// testEveryMethodIsRouted walks the exported methods of *Repo and checks
// that each goes where its route says: a read lands on a fresh replica, and
// on the primary once its context has written something the replica has
// not replayed; a write or transaction goes to the primary and marks its
// context. A method missing from routes fails the test, so a new method
// cannot skip reading, writing or inTx unnoticed.
func testEveryMethodIsRouted(t *testing.T, primaryPool, replicaPool *pgxpool.Pool, onPrimary, onReplica *sqlcCounter) {
	ctx := context.Background()
	// MaxLag long enough that a paused replica still serves callers that
	// wrote nothing.
	r := repo.New(primaryPool, repo.WithReplicas(repo.ReplicaOptions{MaxLag: time.Minute, CheckEvery: 100 * time.Millisecond}, replicaPool))
	defer r.Close()

	var methods []string
	for m := range reflect.TypeFor[*repo.Repo]().Methods() {
		methods = append(methods, m.Name)
		_, ok := routes[m.Name]
		require.True(t, ok, "(*Repo).%s has no route: add it to routes in routing_test.go", m.Name)
	}
	for name := range routes {
		require.Contains(t, methods, name, "routes names a method *Repo does not have")
	}

	f := routingFixture{primary: primaryPool, replica: replicaPool, n: &atomic.Int64{}}
	var err error
	f.user, err = r.RegisterUser(ctx, repo.NewUser{Name: "Routing", Age: 40}, "routing@example.com")
	require.NoError(t, err)
	_, err = r.SetProfile(ctx, repo.Profile{UserID: f.user.ID, Bio: "routed"})
	require.NoError(t, err)
	f.post, err = r.CreatePost(ctx, repo.NewPost{UserID: f.user.ID, Title: "Routed"})
	require.NoError(t, err)
	_, err = r.TagPost(ctx, f.post.ID, "routing")
	require.NoError(t, err)
	eventually(t, "the replica has the fixture", func() bool {
		_, err := repo.New(replicaPool).GetPost(ctx, f.post.ID, repo.SelectIn)
		return err == nil
	})
	eventually(t, "the replica is checked fresh", func() bool {
		s := r.ReplicaStatuses()[0]
		return s.Up && s.Lag < time.Second
	})
	// From here on the replica replays nothing: whatever a context writes,
	// only the primary has.
	pauseReplay(t, primaryPool, replicaPool)

	// A check that times out on a busy machine takes the replica out of
	// rotation until the next one: a call expected on the replica is
	// repeated until it lands there, and a call expected on the primary is
	// made while the replica is up, so that it proves the routing.
	onTheReplica := func(t *testing.T, msg string, fn func()) {
		t.Helper()
		eventually(t, msg, func() bool { return where(t, onPrimary, onReplica, fn) == "replica" })
	}
	onThePrimary := func(t *testing.T, msg string, fn func()) {
		t.Helper()
		eventually(t, "the replica is up", func() bool { return r.ReplicaStatuses()[0].Up })
		require.Equal(t, "primary", where(t, onPrimary, onReplica, fn), msg)
	}
	// probe reads with ctx: on the primary once ctx has written.
	probe := func(ctx context.Context) func() {
		return func() {
			_, err := r.ListUsers(ctx, repo.UserQuery{Limit: 1})
			require.NoError(t, err)
		}
	}
	wroteSession := repo.WithReadYourWrites(ctx)
	_, err = r.CreateUser(wroteSession, repo.NewUser{Name: "Writer"})
	require.NoError(t, err)

	// Reads first, on the fixture; the writes prepare their own rows (Reset
	// empties the tables).
	slices.SortFunc(methods, func(a, b string) int {
		return cmp.Or(cmp.Compare(routes[a].route, routes[b].route), strings.Compare(a, b))
	})
	for _, name := range methods {
		rt := routes[name]
		t.Run(name, func(t *testing.T) {
			call := func(ctx context.Context) { require.NoError(t, rt.call(t, ctx, r, f), "%s (%s)", name, rt.route) }
			switch rt.route {
			case read:
				onTheReplica(t, "a read goes to a fresh replica", func() { call(ctx) })
				onThePrimary(t, "a read with a context that wrote goes where the write is", func() { call(wroteSession) })
			case write, transaction:
				session := repo.WithReadYourWrites(ctx)
				onTheReplica(t, "nothing written with the session yet", probe(session))
				require.Equal(t, "primary", where(t, onPrimary, onReplica, func() { call(session) }),
					"a %s goes to the primary", rt.route)
				onThePrimary(t, fmt.Sprintf("the %s marked its context for read-your-writes", rt.route), probe(session))
			case local:
				p, rep := onPrimary.n.Load(), onReplica.n.Load()
				call(ctx)
				require.Equal(t, [2]int64{p, rep}, [2]int64{onPrimary.n.Load(), onReplica.n.Load()}, "no statement")
			default:
				t.Fatalf("unknown route %d", rt.route)
			}
		})
	}
}
