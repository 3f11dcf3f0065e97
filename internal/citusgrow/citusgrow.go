// Package citusgrow is what the test and the benchmark of a Citus cluster
// growing under traffic share: clients that call at a steady rate, timed by
// phase, and the checks of the data once shards have moved (or a node came
// back), read from the catalog so that a table a user adds is checked too.
package citusgrow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Call is one kind of call the clients make; i numbers its calls.
type Call struct {
	Name string
	Do   func(ctx context.Context, i int) error
}

// Calls are one kind of call's times, by the phase each started in, and
// its errors.
type Calls struct {
	Name   string
	mu     sync.Mutex
	Times  [2][]time.Duration // before, during
	Failed []string
}

// Clients run each call at one call per period, each with its deadline,
// until Stop.
type Clients struct {
	Calls  []*Calls
	During atomic.Bool // calls started from now on count as during
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// Start starts one client per call.
func Start(calls []Call, period, deadline time.Duration) *Clients {
	c := &Clients{stop: make(chan struct{})}
	for _, call := range calls {
		times := &Calls{Name: call.Name}
		c.Calls = append(c.Calls, times)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			tick := time.NewTicker(period)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-c.stop:
					return
				case <-tick.C:
				}
				phase := 0
				if c.During.Load() {
					phase = 1
				}
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				start := time.Now()
				err := call.Do(ctx, i)
				took := time.Since(start)
				cancel()
				times.mu.Lock()
				times.Times[phase] = append(times.Times[phase], took)
				if err != nil {
					times.Failed = append(times.Failed, err.Error())
				}
				times.mu.Unlock()
			}
		}()
	}
	return c
}

// Stop stops the clients and waits for their calls in flight; it may be
// called more than once.
func (c *Clients) Stop() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
}

// P99 is the 99th percentile of ds (0 for none).
func P99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	return s[(len(s)*99+99)/100-1]
}

// Check is a count that must be zero.
type Check struct{ What, Query string }

// Checks are the rules the data keeps on Citus whatever moves: for every
// foreign key of the catalog, no row refers to a row that is not there;
// no email twice across the shards; as many email_owners rows as addresses
// (the rule Citus leaves to the repository); every shard of a distributed
// table in exactly one place (Citus's metadata agrees with itself).
func Checks(ctx context.Context, pool *pgxpool.Pool) ([]Check, error) {
	rows, err := pool.Query(ctx, `SELECT conrelid::regclass::text, confrelid::regclass::text,
		(SELECT array_agg(attname ORDER BY k.i) FROM unnest(conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute ON attrelid = conrelid AND attnum = k.n),
		(SELECT array_agg(attname ORDER BY k.i) FROM unnest(confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute ON attrelid = confrelid AND attnum = k.n)
		FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace ORDER BY 1, 2`)
	if err != nil {
		return nil, err
	}
	checks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Check, error) {
		var child, parent string
		var from, to []string
		if err := row.Scan(&child, &parent, &from, &to); err != nil {
			return Check{}, err
		}
		var on []string
		for i := range from {
			on = append(on, fmt.Sprintf("p.%s = c.%s", pgx.Identifier{to[i]}.Sanitize(), pgx.Identifier{from[i]}.Sanitize()))
		}
		return Check{fmt.Sprintf("rows of %s whose %s row is not there", child, parent),
			fmt.Sprintf("SELECT count(*) FROM %s c WHERE NOT EXISTS (SELECT 1 FROM %s p WHERE %s)", child, parent, strings.Join(on, " AND "))}, nil
	})
	if err != nil {
		return nil, err
	}
	return append(checks, rules...), nil
}

var rules = []Check{
	{"emails registered twice across the shards", "SELECT count(*) FROM (SELECT email_key(email) FROM addresses GROUP BY 1 HAVING count(*) > 1) d"},
	{"difference between the counts of addresses and of email_owners rows",
		"SELECT abs((SELECT count(*) FROM addresses) - (SELECT count(*) FROM email_owners))"},
	{"shards of distributed tables not in exactly one place", `SELECT count(*) FROM (SELECT s.shardid FROM pg_dist_shard s
		JOIN pg_dist_partition p USING (logicalrelid) LEFT JOIN pg_dist_placement pl USING (shardid)
		WHERE p.partmethod = 'h' GROUP BY s.shardid HAVING count(pl.placementid) <> 1) s`},
}

// Broken runs checks and returns those whose count is not zero, with it.
func Broken(ctx context.Context, pool *pgxpool.Pool, checks []Check) ([]string, error) {
	var broken []string
	for _, c := range checks {
		var n int64
		if err := pool.QueryRow(ctx, c.Query).Scan(&n); err != nil {
			return nil, fmt.Errorf("%s: %w", c.What, err)
		}
		if n != 0 {
			broken = append(broken, fmt.Sprintf("%s: %d", c.What, n))
		}
	}
	return broken, nil
}
