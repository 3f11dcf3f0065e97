package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inkwell-dev/inkwell/internal/fakedata"
	"github.com/inkwell-dev/inkwell/internal/repo"
	"github.com/inkwell-dev/inkwell/internal/trips"
)

// operation is one call measured on both backends.
type operation struct {
	name string
	note string // what it shows
	call func(ctx context.Context, r *repo.Repo, in *inputs) error
}

// inputs feed the operations: made with the same seed, the same values in
// the same order on both backends.
type inputs struct {
	ids        []int64 // the loaded users' ids
	rng        *rand.Rand
	next       func() (repo.UserGraph, error, bool) // fresh users with their emails
	stop       func()
	registered int // users taken to register
}

// newInputs picks among ids with seed and registers users generated from
// seed+1 (emails that no other seed's users have). Its stop is the
// caller's to call.
func newInputs(ids []int64, seed uint64) *inputs {
	gen := fakedata.New(fakedata.Config{Seed: seed + 1, AddressesPerUser: registeredEmails})
	next, stop := iter.Pull2(gen.Users(math.MaxInt))
	return &inputs{ids: ids, rng: rand.New(rand.NewPCG(seed, 0)), next: next, stop: stop}
}

func (in *inputs) id() int64 { return in.ids[in.rng.IntN(len(in.ids))] }

// reader is the user whose feed is read: the middle one loaded, made to
// follow readerFollows users by follow.
func (in *inputs) reader() int64 { return in.ids[len(in.ids)/2] }

// mostFollowed is the first user loaded, whom the seed's skew makes the
// most followed.
func (in *inputs) mostFollowed() int64 { return in.ids[0] }

// readerFollows is how many users the feed's reader follows: the issue's
// "a user following 1,000 users".
const readerFollows = 1000

// follow makes the reader follow readerFollows users picked with seed (the
// same on both backends), before the timed calls.
func follow(ctx context.Context, r *repo.Repo, ids []int64, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	in := &inputs{ids: ids}
	for _, i := range rng.Perm(len(ids))[:min(readerFollows+1, len(ids))] {
		if ids[i] == in.reader() {
			continue
		}
		if err := r.Follow(ctx, in.reader(), ids[i]); err != nil {
			return fmt.Errorf("the reader follows: %w", err)
		}
	}
	return nil
}

func (in *inputs) register() (repo.UserGraph, error) {
	g, err, ok := in.next()
	if !ok {
		return g, errors.New("register: no more generated users")
	}
	in.registered++
	return g, err
}

// registeredEmails is how many emails each registration gives its user.
const registeredEmails = 2

var operations = []operation{
	{name: "GetUser", note: "point read by id: one shard",
		call: func(ctx context.Context, r *repo.Repo, in *inputs) error {
			_, err := r.GetUser(ctx, in.id())
			return err
		}},
	{name: "GetUserWithAddresses (Joined)", note: "a user and their addresses in one query: one shard (co-located)",
		call: func(ctx context.Context, r *repo.Repo, in *inputs) error {
			_, err := r.GetUserWithAddresses(ctx, in.id(), repo.Joined)
			return err
		}},
	{name: "RegisterUser, 2 emails", note: "a user, two addresses and their email owners in one transaction: the user's shard and each email's",
		call: func(ctx context.Context, r *repo.Repo, in *inputs) error {
			g, err := in.register()
			if err != nil {
				return err
			}
			_, err = r.RegisterUser(ctx, g.User, g.Emails...)
			return err
		}},
	{name: "Follow", note: "both rows of an edge in one transaction: the follower's shard and the followee's (two-phase commit)",
		call: func(ctx context.Context, r *repo.Repo, in *inputs) error {
			follower, followee := in.id(), in.id()
			if follower == followee { // another user: the first, or the second
				followee = in.ids[min(1, len(in.ids)-1)]
				if follower == followee {
					followee = in.ids[0]
				}
			}
			return r.Follow(ctx, follower, followee)
		}},
	{name: "ListFollowers, first page, most followed", note: "a page of the mirror rows on the followee's shard: one shard",
		call: func(ctx context.Context, r *repo.Repo, in *inputs) error {
			_, err := r.ListFollowers(ctx, in.mostFollowed(), repo.FollowQuery{Limit: 20})
			return err
		}},
	{name: "ListFeed (Joined), page of 20, following 1,000", note: "the followees from the reader's shard, then every shard of posts (ORDER BY, LIMIT), then authors and tags",
		call: func(ctx context.Context, r *repo.Repo, in *inputs) error {
			_, err := r.ListFeed(ctx, in.reader(), repo.FollowQuery{Limit: 20}, repo.Joined)
			return err
		}},
	{name: "ListUsers, first page", note: "a page of users by id: every shard",
		call: func(ctx context.Context, r *repo.Repo, in *inputs) error {
			_, err := r.ListUsers(ctx, repo.UserQuery{})
			return err
		}},
}

// opStats are one operation's measurements on one backend.
type opStats struct {
	times []time.Duration // of each call
	trips []int64         // round trips of each call, on the wire
	citus citusCounters   // over the calls, on Citus
	// The commands the coordinator sent to the nodes for each of
	// probeRemote's calls (on Citus).
	remote []int64
}

// measure runs the operations on every backend, cfg.ops calls each per
// round, the backends taking turns going first, after one call of each to
// warm the connection (its statement cache).
func measure(ctx context.Context, cfg config, backends []*backend, stderr io.Writer) error {
	type session struct {
		r       *repo.Repo
		counter *trips.Counter
		admin   *pgx.Conn // reads Citus's counters, not counted
		in      *inputs
	}
	sessions := map[*backend]*session{}
	for _, b := range backends {
		pool, counter, err := countedPool(ctx, b.url)
		if err != nil {
			return err
		}
		defer pool.Close()
		admin, err := repo.Connect(ctx, b.url)
		if err != nil {
			return err
		}
		defer admin.Close(context.Background())
		in := newInputs(b.ids, cfg.seed)
		defer func() {
			in.stop()
			b.registered += in.registered
		}()
		sessions[b] = &session{r: repo.New(pool), counter: counter, admin: admin, in: in}
		if err := follow(ctx, sessions[b].r, b.ids, cfg.seed); err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		b.ops = map[string]*opStats{}
		for _, op := range operations {
			if err := op.call(ctx, sessions[b].r, in); err != nil {
				return fmt.Errorf("%s: warm-up %s: %w", b.name, op.name, err)
			}
			b.ops[op.name] = &opStats{}
		}
	}
	for round := range cfg.rounds {
		order := slices.Clone(backends)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, b := range order {
			fmt.Fprintf(stderr, "round %d/%d: %s, %d calls of each operation...\n", round+1, cfg.rounds, b.name, cfg.ops)
			s := sessions[b]
			for _, op := range operations {
				st := b.ops[op.name]
				before, err := readCounters(ctx, s.admin, b)
				if err != nil {
					return err
				}
				for range cfg.ops {
					before := s.counter.Trips()
					start := time.Now()
					if err := op.call(ctx, s.r, s.in); err != nil {
						return fmt.Errorf("%s: %s: %w", b.name, op.name, err)
					}
					st.times = append(st.times, time.Since(start))
					st.trips = append(st.trips, s.counter.Trips()-before)
				}
				after, err := readCounters(ctx, s.admin, b)
				if err != nil {
					return err
				}
				st.citus = st.citus.plus(after.minus(before))
			}
		}
	}
	return nil
}

// probeCalls is how many calls of each operation probeRemote makes.
const probeCalls = 5

// probeRemote counts, on Citus, the commands the coordinator sends to the
// nodes (itself included) for probeCalls calls of each operation, after a
// call to warm the connection: Citus logs each (citus.log_remote_commands)
// in a NOTICE to the client. It runs after the timed calls, on a connection
// of its own, with inputs of its own (the timed calls' stay the same on
// both backends).
func probeRemote(ctx context.Context, cfg config, b *backend) error {
	pc, err := pgxpool.ParseConfig(b.url)
	if err != nil {
		return err
	}
	pc.MaxConns = 1
	pc.ConnConfig.RuntimeParams["citus.log_remote_commands"] = "on"
	pc.ConnConfig.RuntimeParams["client_min_messages"] = "log"
	var issued atomic.Int64
	pc.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if strings.HasPrefix(n.Message, "issuing ") {
			issued.Add(1)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return err
	}
	defer pool.Close()
	r := repo.New(pool)
	in := newInputs(b.ids, cfg.seed+2)
	defer func() {
		in.stop()
		b.registered += in.registered
	}()
	for _, op := range operations {
		for i := range probeCalls + 1 {
			before := issued.Load()
			if err := op.call(ctx, r, in); err != nil {
				return fmt.Errorf("%s: %s with citus.log_remote_commands: %w", b.name, op.name, err)
			}
			if i > 0 {
				b.ops[op.name].remote = append(b.ops[op.name].remote, issued.Load()-before)
			}
		}
	}
	return nil
}

// countedPool is a pool of one connection on url whose round trips are
// counted, with no liveness checks (their round trips are not the call's).
func countedPool(ctx context.Context, url string) (*pgxpool.Pool, *trips.Counter, error) {
	plain, err := repo.OpenPool(ctx, url, repo.PoolConfig{MaxConns: 1})
	if err != nil {
		return nil, nil, err
	}
	cfg := plain.Config().Copy()
	plain.Close()
	counter := &trips.Counter{}
	cfg.ConnConfig.DialFunc = counter.Dial
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	return pool, counter, err
}

// citusCounters are Citus's counts (citus_stat_counters) in the database:
// single- and multi-shard executions.
type citusCounters struct{ singleShard, multiShard int64 }

func (c citusCounters) minus(d citusCounters) citusCounters {
	return citusCounters{c.singleShard - d.singleShard, c.multiShard - d.multiShard}
}

func (c citusCounters) plus(d citusCounters) citusCounters {
	return citusCounters{c.singleShard + d.singleShard, c.multiShard + d.multiShard}
}

// readCounters reads Citus's counters of b's database so far (zero on one
// node).
func readCounters(ctx context.Context, conn *pgx.Conn, b *backend) (citusCounters, error) {
	var c citusCounters
	if b.citus == nil {
		return c, nil
	}
	err := conn.QueryRow(ctx, `SELECT query_execution_single_shard, query_execution_multi_shard
		FROM citus_stat_counters WHERE name = current_database()`).Scan(&c.singleShard, &c.multiShard)
	if err != nil {
		return c, fmt.Errorf("citus_stat_counters: %w", err)
	}
	return c, nil
}

// loadedIDs reads the ids of b's users, ascending: the point reads pick
// among them (the same positions on both backends).
func loadedIDs(ctx context.Context, b *backend) error {
	conn, err := repo.Connect(ctx, b.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, "SELECT id FROM users ORDER BY id")
	if err != nil {
		return err
	}
	b.ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	return err
}
