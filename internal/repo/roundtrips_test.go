package repo_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
	"github.com/inkwell-dev/inkwell/internal/trips"
)

// tripFixture is what the cases below read, made by the uncounted Repo.
type tripFixture struct {
	user repo.User // with two addresses
	post repo.Post // with two tags
	n    *atomic.Int64
}

func (f tripFixture) email() string { return fmt.Sprintf("trips%d@example.com", f.n.Add(1)) }

// A tripCase prepares its rows with prep (not counted) and returns the call
// to count, which must end with want (nil, or a sentinel for errors.Is).
type tripCase struct {
	name       string
	trips      int64 // at most
	citusTrips int64 // at most on Citus, where it differs (0: as trips)
	want       error
	prep       func(t *testing.T, prep *repo.Repo, f tripFixture) func(ctx context.Context, r *repo.Repo) error
}

// call is a tripCase's prep for a call that needs no rows of its own.
func call(fn func(ctx context.Context, r *repo.Repo, f tripFixture) error) func(*testing.T, *repo.Repo, tripFixture) func(context.Context, *repo.Repo) error {
	return func(_ *testing.T, _ *repo.Repo, f tripFixture) func(context.Context, *repo.Repo) error {
		return func(ctx context.Context, r *repo.Repo) error { return fn(ctx, r, f) }
	}
}

func newUser(t *testing.T, p *repo.Repo) repo.User {
	u, err := p.CreateUser(bg, repo.NewUser{Name: "Trips", Age: 30})
	require.NoError(t, err)
	return u
}

func newPost(t *testing.T, p *repo.Repo) repo.Post {
	post, err := p.CreatePost(bg, repo.NewPost{UserID: newUser(t, p).ID, Title: "Trips"})
	require.NoError(t, err)
	return post
}

// roundTrips is the most round trips each exported method of *Repo may take
// (README.md, "Round trips", has the same table). A method missing here
// fails TestRoundTrips: add it when you add the method.
var roundTrips = map[string][]tripCase{
	"GetUser": {{name: "OK", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.GetUser(ctx, f.user.ID)
		return err
	})}},
	"GetProfile": {{name: "OK", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.GetProfile(ctx, f.user.ID)
		return err
	})}},
	"GetUserWithAddresses": {
		{name: "Joined", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.GetUserWithAddresses(ctx, f.user.ID, repo.Joined)
			return err
		})},
		{name: "SelectIn", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.GetUserWithAddresses(ctx, f.user.ID, repo.SelectIn)
			return err
		})},
		{name: "SelectInNotFound", trips: 1, want: repo.ErrNotFound, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.GetUserWithAddresses(ctx, f.user.ID+1000, repo.SelectIn)
			return err
		})},
	},
	"FindUserByName": {
		{name: "Joined", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.FindUserByName(ctx, f.user.Name, repo.Joined)
			return err
		})},
		// The addresses' query finds the user by name too: one batch.
		{name: "SelectIn", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.FindUserByName(ctx, f.user.Name, repo.SelectIn)
			return err
		})},
		{name: "SelectInNotFound", trips: 1, want: repo.ErrNotFound, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.FindUserByName(ctx, "Nobody", repo.SelectIn)
			return err
		})},
	},
	"GetPost": {
		{name: "Joined", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.GetPost(ctx, f.post.ID, repo.Joined)
			return err
		})},
		{name: "SelectIn", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.GetPost(ctx, f.post.ID, repo.SelectIn)
			return err
		})},
	},
	"ListUsers": {{name: "OK", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.ListUsers(ctx, repo.UserQuery{})
		return err
	})}},
	// A page's children are found from the page's arguments, not its ids:
	// SelectIn's two queries go in one batch.
	"ListUsersWithAddresses": {
		{name: "Joined", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.ListUsersWithAddresses(ctx, repo.UserQuery{}, repo.Joined)
			return err
		})},
		{name: "SelectIn", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.ListUsersWithAddresses(ctx, repo.UserQuery{}, repo.SelectIn)
			return err
		})},
	},
	"ListUsersWithPosts": {
		{name: "Joined", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.ListUsersWithPosts(ctx, repo.UserQuery{}, repo.Joined)
			return err
		})},
		{name: "SelectIn", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.ListUsersWithPosts(ctx, repo.UserQuery{}, repo.SelectIn)
			return err
		})},
	},
	"ListPosts": {
		{name: "Joined", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.ListPosts(ctx, repo.PostQuery{}, repo.Joined)
			return err
		})},
		{name: "SelectIn", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.ListPosts(ctx, repo.PostQuery{}, repo.SelectIn)
			return err
		})},
	},

	"CreateUser": {{name: "OK", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.CreateUser(ctx, repo.NewUser{Name: "Created"})
		return err
	})}},
	"RegisterUser": {
		{name: "TwoEmails", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.RegisterUser(ctx, repo.NewUser{Name: "Registered"}, f.email(), f.email())
			return err
		})},
		// On Citus a taken email fails an insert: the transaction's ROLLBACK,
		// then the next call prepares the failed batch's statements again.
		{name: "TakenEmail", trips: 1, citusTrips: 4, want: repo.ErrConflict, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.RegisterUser(ctx, repo.NewUser{Name: "Late"}, f.email(), f.user.Addresses[1].Email)
			return err
		})},
		{name: "NoEmail", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.RegisterUser(ctx, repo.NewUser{Name: "Registered"})
			return err
		})},
	},
	"UpdateUser": {{name: "OK", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.UpdateUser(ctx, f.user.ID, repo.UserPatch{Age: ptr(int32(31))})
		return err
	})}},
	"DeleteUser": {{name: "OK", trips: 1, prep: func(t *testing.T, p *repo.Repo, f tripFixture) func(context.Context, *repo.Repo) error {
		u := newUser(t, p)
		return func(ctx context.Context, r *repo.Repo) error { return r.DeleteUser(ctx, u.ID) }
	}}},
	"AddAddress": {{name: "OK", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.AddAddress(ctx, f.user.ID, f.email())
		return err
	})}},
	"DeleteAddress": {{name: "OK", trips: 1, prep: func(t *testing.T, p *repo.Repo, f tripFixture) func(context.Context, *repo.Repo) error {
		a, err := p.AddAddress(bg, f.user.ID, f.email())
		require.NoError(t, err)
		return func(ctx context.Context, r *repo.Repo) error { return r.DeleteAddress(ctx, a.ID) }
	}}},
	"SetProfile": {{name: "OK", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.SetProfile(ctx, repo.Profile{UserID: f.user.ID, Bio: "counted"})
		return err
	})}},
	"CreatePost": {{name: "OK", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.CreatePost(ctx, repo.NewPost{UserID: f.user.ID, Title: "Counted"})
		return err
	})}},
	"UpdatePost": {{name: "OK", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.UpdatePost(ctx, f.post.ID, repo.PostPatch{Rating: ptr(4.0)})
		return err
	})}},
	"DeletePost": {{name: "OK", trips: 1, prep: func(t *testing.T, p *repo.Repo, f tripFixture) func(context.Context, *repo.Repo) error {
		post := newPost(t, p)
		return func(ctx context.Context, r *repo.Repo) error { return r.DeletePost(ctx, post.ID) }
	}}},
	"TagPost": {
		{name: "TwoTags", trips: 1, prep: func(t *testing.T, p *repo.Repo, f tripFixture) func(context.Context, *repo.Repo) error {
			post := newPost(t, p)
			return func(ctx context.Context, r *repo.Repo) error {
				_, err := r.TagPost(ctx, post.ID, "go", fmt.Sprintf("new-%d", f.n.Add(1)))
				return err
			}
		}},
		{name: "NoSuchPost", trips: 1, want: repo.ErrNotFound, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			_, err := r.TagPost(ctx, f.post.ID+1000, "go")
			return err
		})},
	},
	"UntagPost": {{name: "OK", trips: 1, prep: func(t *testing.T, p *repo.Repo, f tripFixture) func(context.Context, *repo.Repo) error {
		post := newPost(t, p)
		_, err := p.TagPost(bg, post.ID, "go")
		require.NoError(t, err)
		return func(ctx context.Context, r *repo.Repo) error {
			_, err := r.UntagPost(ctx, post.ID, "go")
			return err
		}
	}}},

	// Loads (bulk.go, graph.go, upsert.go), counted with one small batch:
	// BEGIN (alone before a COPY, which pgx cannot pipeline), their
	// statements (a COPY takes one or two: pgx may send the data before the
	// server says it is ready, so the bounds allow one more per COPY), COMMIT.
	"BulkCreateUsers": {{name: "OneUser", trips: 4, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.BulkCreateUsers(ctx, []repo.NewUser{{Name: "Bulk"}})
		return err
	})}},
	"BulkCreatePosts": {{name: "OnePost", trips: 4, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.BulkCreatePosts(ctx, one(repo.NewPost{UserID: f.user.ID, Title: "Bulk"}), repo.BulkOptions{})
		return err
	})}},
	// BEGIN, tags, ids, five COPYs (users, addresses, email_owners, posts,
	// post_tags) of one or two round trips each, COMMIT.
	"BulkInsertGraphs": {{name: "OneGraph", trips: 14, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.BulkInsertGraphs(ctx, one(repo.UserGraph{User: repo.NewUser{Name: "Graph"}, Emails: []string{f.email()},
			Posts: []repo.GraphPost{{Title: "Graph post", Tags: []string{"graph"}}}}), repo.BulkOptions{})
		return err
	})}},
	"UpsertUsersByEmail": {{name: "OneRow", trips: 8, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.UpsertUsersByEmail(ctx, one(repo.UserImport{Email: f.email(), Name: "Imported"}), repo.BulkOptions{})
		return err
	})}},
	// The whole load's statements grow with the schema (one per key, index
	// and foreign key): counted here is its refusal of tables with rows,
	// which is all a call on the fixture can be (once per seed: not tuned).
	"InitialLoadGraphs": {{name: "ErrNotEmpty", trips: 8, want: repo.ErrNotEmpty, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		_, err := r.InitialLoadGraphs(ctx, one(repo.UserGraph{User: repo.NewUser{Name: "Initial"}}), repo.InitialLoadOptions{})
		return err
	})}},
	"Reset": {{name: "OK", trips: 1, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
		return r.Reset(ctx)
	})}},

	"InTx": {
		// BEGIN travels with the first statement (here a pipelined load),
		// COMMIT on its own.
		{name: "TwoReads", trips: 3, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			return r.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				p, err := tx.GetPost(ctx, f.post.ID, repo.SelectIn)
				if err != nil {
					return err
				}
				if len(p.Tags) != 2 {
					return fmt.Errorf("%d tags, not 2", len(p.Tags))
				}
				u, err := tx.GetUserWithAddresses(ctx, f.user.ID, repo.SelectIn)
				if err == nil && len(u.Addresses) < 2 { // AddAddress's cases add more
					err = fmt.Errorf("%d addresses, not 2 or more", len(u.Addresses))
				}
				return err
			})
		})},
		{name: "NestedRegister", trips: 4, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			return r.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				return tx.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error { // BEGIN with SAVEPOINT, RELEASE
					_, err := tx.RegisterUser(ctx, repo.NewUser{Name: "Nested"}, f.email())
					return err
				})
			})
		})},
		{name: "RegisterInside", trips: 2, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			return r.InTx(ctx, repo.TxOptions{Isolation: repo.Serializable}, func(tx *repo.Repo) error {
				_, err := tx.RegisterUser(ctx, repo.NewUser{Name: "Inside"}, f.email(), f.email())
				return err
			})
		})},
		{name: "Nothing", trips: 0, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error {
			return r.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error { return nil })
		})},
	},

	"Close":           {{name: "Local", trips: 0, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error { return nil })}},
	"ReplicaStatuses": {{name: "Local", trips: 0, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error { r.ReplicaStatuses(); return nil })}},
	"Stats":           {{name: "Local", trips: 0, prep: call(func(ctx context.Context, r *repo.Repo, f tripFixture) error { r.Stats(); return nil })}},
}

// TestRoundTrips counts, on the wire, the round trips of every exported
// method of *Repo, and fails when one takes more than roundTrips says. Each
// call is made once to warm the connection's statement cache (a first
// statement on a connection is described first: one more round trip), then
// counted. With pgtest.PgBouncerEnv set it counts through PgBouncer.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	prepPool := pgtest.NewPool(t)
	wire := &trips.Counter{}
	cfg := prepPool.Config().Copy()
	cfg.ConnConfig.DialFunc = wire.Dial
	cfg.MaxConns = 1
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false } // no liveness round trips
	counted, err := pgxpool.NewWithConfig(bg, cfg)
	require.NoError(t, err)
	t.Cleanup(counted.Close)
	p, r := repo.New(prepPool), repo.New(counted)

	f := tripFixture{n: &atomic.Int64{}}
	f.user, err = p.RegisterUser(bg, repo.NewUser{Name: "Counted", Age: 30}, "counted@example.com", "counted@work.com")
	require.NoError(t, err)
	_, err = p.SetProfile(bg, repo.Profile{UserID: f.user.ID, Bio: "counted"})
	require.NoError(t, err)
	f.post, err = p.CreatePost(bg, repo.NewPost{UserID: f.user.ID, Title: "Counted"})
	require.NoError(t, err)
	_, err = p.TagPost(bg, f.post.ID, "counted", "wire")
	require.NoError(t, err)

	var methods []string
	for m := range reflect.TypeFor[*repo.Repo]().Methods() {
		methods = append(methods, m.Name)
		require.Contains(t, roundTrips, m.Name, "(*Repo).%s has no round trips: add it to roundTrips in roundtrips_test.go", m.Name)
	}
	for name := range roundTrips {
		require.Contains(t, methods, name, "roundTrips names a method *Repo does not have")
	}
	slices.Sort(methods)
	for _, name := range methods {
		if name == "Reset" {
			continue // empties the tables the others read: last
		}
		countTrips(t, name, wire, p, r, f)
	}
	countTrips(t, "Reset", wire, p, r, f)
}

func countTrips(t *testing.T, name string, w *trips.Counter, p, r *repo.Repo, f tripFixture) {
	for _, tc := range roundTrips[name] {
		t.Run(name+"/"+tc.name, func(t *testing.T) {
			check := func(err error) {
				if tc.want == nil {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, tc.want)
				}
			}
			check(tc.prep(t, p, f)(bg, r)) // warm
			call := tc.prep(t, p, f)
			before := w.Trips()
			check(call(bg, r))
			got, most := w.Trips()-before, tc.trips
			if pgtest.Citus() && tc.citusTrips > 0 {
				most = tc.citusTrips
			}
			require.LessOrEqual(t, got, most, "%s (%s): %d round trips on the wire, at most %d expected", name, tc.name, got, most)
			t.Logf("%s (%s): %d round trips", name, tc.name, got)
		})
	}
}
