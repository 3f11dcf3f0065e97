package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
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

// inputs feed the operations the same values, in the same order, on
// both backends.
type inputs struct {
	ids      []int64 // the loaded users' ids
	rng      *rand.Rand
	register func() (repo.UserGraph, error) // fresh users with their emails
}

func (in *inputs) id() int64 { return in.ids[in.rng.IntN(len(in.ids))] }

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
		admin, err := pgx.Connect(ctx, b.url)
		if err != nil {
			return err
		}
		defer admin.Close(context.Background())
		next, stop := iter.Pull2(fakedata.New(fakedata.Config{Seed: cfg.seed + 1, AddressesPerUser: registeredEmails}).
			Users(cfg.rounds*cfg.ops + 1))
		defer stop()
		register := func() (repo.UserGraph, error) {
			g, err, ok := next()
			if !ok {
				return g, errors.New("register: no more generated users")
			}
			return g, err
		}
		in := &inputs{ids: b.ids, rng: rand.New(rand.NewPCG(cfg.seed, 0)), register: register}
		sessions[b] = &session{r: repo.New(pool), counter: counter, admin: admin, in: in}
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
// single- and multi-shard executions, connections to the nodes made.
type citusCounters struct{ singleShard, multiShard, connections int64 }

func (c citusCounters) minus(d citusCounters) citusCounters {
	return citusCounters{c.singleShard - d.singleShard, c.multiShard - d.multiShard, c.connections - d.connections}
}

func (c citusCounters) plus(d citusCounters) citusCounters {
	return citusCounters{c.singleShard + d.singleShard, c.multiShard + d.multiShard, c.connections + d.connections}
}

// readCounters reads Citus's counters of b's database so far (zero on one
// node).
func readCounters(ctx context.Context, conn *pgx.Conn, b *backend) (citusCounters, error) {
	var c citusCounters
	if b.citus == nil {
		return c, nil
	}
	err := conn.QueryRow(ctx, `SELECT query_execution_single_shard, query_execution_multi_shard, connection_establishment_succeeded
		FROM citus_stat_counters WHERE name = current_database()`).Scan(&c.singleShard, &c.multiShard, &c.connections)
	if err != nil {
		return c, fmt.Errorf("citus_stat_counters: %w", err)
	}
	return c, nil
}

// loadedIDs reads the ids of b's users, ascending: the point reads pick
// among them (the same positions on both backends).
func loadedIDs(ctx context.Context, b *backend) error {
	conn, err := pgx.Connect(ctx, b.url)
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
