// Command bench measures inkwell against hand-written pgx, GORM, bun, ent and
// SQLAlchemy 1.4 on
// the same schema (inkwell's migrations), data, pool size and server, and
// writes BENCHMARKS.md and a chart.
//
// Noise: the machines are shared, so every round runs every peer, in an
// order that rotates, and each peer is reported as its ratio to pgx in the
// same round; the tables give medians over the rounds. Bulk operations run
// on a fresh database (a copy of a migrated template) each time.
//
//	bench -database-url URL [-full] [-rounds N] [-out BENCHMARKS.md] [-chart bench.svg]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"time"
)

type config struct {
	databaseURL string
	full        bool
	rounds      int
	poolSize    int
	out, chart  string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var cfg config
	flag.StringVar(&cfg.databaseURL, "database-url", "", "a superuser's URL on the server to use (default $DATABASE_URL)")
	flag.BoolVar(&cfg.full, "full", false, "the full run: bulk loads of 1M users, more rounds")
	flag.IntVar(&cfg.rounds, "rounds", 10, "rounds; each runs every operation on every peer")
	flag.IntVar(&cfg.poolSize, "pool-size", 4, "connections in every peer's pool")
	flag.StringVar(&cfg.out, "out", "BENCHMARKS.md", "the report to write")
	flag.StringVar(&cfg.chart, "chart", "docs/bench.svg", "the chart to write")
	flag.Parse()
	if cfg.databaseURL == "" {
		cfg.databaseURL = os.Getenv("DATABASE_URL")
	}
	if cfg.databaseURL == "" {
		fmt.Fprintln(os.Stderr, "bench: no database: set DATABASE_URL or pass -database-url")
		os.Exit(2)
	}
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func peers() []peer {
	return []peer{&pgxPeer{}, &inkwellPeer{}, &gormPeer{}, &bunPeer{}, &entPeer{}, newSQLAlchemyPeer()}
}

// measurement is one peer's run of one operation in one round.
type measurement struct {
	perOp      time.Duration
	allocs     float64 // per op
	roundTrips float64 // per op
	rows       int     // rows an operation wrote, for rows/s
	err        error   // errUnsupported, or what went wrong
}

// operation is one line of the report. key, n, size, seed and rows say the
// same as run, for peers that run operations whole (externalPeer).
type operation struct {
	name string
	run  func(ctx context.Context, s *server, p peer, round int) measurement
	key  string
	n    int // times the operation runs in a measurement
	size int // users per operation, for bulk operations
	seed int // users in the database beforehand
	rows int // rows an operation writes, for rows/s
}

func run(ctx context.Context, cfg config) error {
	s := &server{admin: cfg.databaseURL, poolSize: cfg.poolSize}
	if err := s.prepare(ctx); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	ops := operations(cfg.full)
	results := map[string]map[string][]measurement{} // op -> peer -> rounds
	all := peers()
	start := time.Now()
	for round := range cfg.rounds {
		order := append(append([]peer{}, all[round%len(all):]...), all[:round%len(all)]...)
		for _, op := range ops {
			if results[op.name] == nil {
				results[op.name] = map[string][]measurement{}
			}
			for _, p := range order {
				m := op.run(ctx, s, p, round)
				if m.err != nil && !errors.Is(m.err, errUnsupported) {
					return fmt.Errorf("round %d, %s, %s: %w", round+1, op.name, p.name(), m.err)
				}
				results[op.name][p.name()] = append(results[op.name][p.name()], m)
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
			fmt.Fprintf(os.Stderr, "round %d/%d: %s done (%v)\n", round+1, cfg.rounds, op.name, time.Since(start).Round(time.Second))
		}
	}
	settings, err := s.settings(ctx)
	if err != nil {
		return err
	}
	env := fmt.Sprintf("%s; %d CPUs; pool of %d connections for every peer; %d rounds, %s",
		settings, runtime.NumCPU(), cfg.poolSize, cfg.rounds, time.Now().UTC().Format("2006-01-02"))
	table := summarize(ops, results)
	if err := writeReport(cfg, table, env); err != nil {
		return err
	}
	return writeChart(cfg.chart, table)
}

func (s *server) settings(ctx context.Context) (string, error) {
	u, err := s.urlOf(template)
	if err != nil {
		return "", err
	}
	db := &database{url: u, poolSize: 1, counter: &counter{}}
	pool, err := db.pgxPool(ctx)
	if err != nil {
		return "", err
	}
	defer pool.Close()
	var version, fsync, sync string
	err = pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync'),
		current_setting('synchronous_commit')`).Scan(&version, &fsync, &sync)
	return fmt.Sprintf("PostgreSQL %s (fsync %s, synchronous_commit %s)", version, fsync, sync), err
}

// measure times fn run n times on db, with the allocations and statements
// it made.
func measure(db *database, n int, fn func(i int) error) measurement {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	trips := db.counter.n.Load()
	start := time.Now()
	for i := range n {
		if err := fn(i); err != nil {
			return measurement{err: err}
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return measurement{
		perOp:      elapsed / time.Duration(n),
		allocs:     float64(after.Mallocs-before.Mallocs) / float64(n),
		roundTrips: float64(db.counter.n.Load()-trips) / float64(n),
	}
}

// onFresh runs body on a peer opened on a new database, then drops it.
func onFresh(ctx context.Context, s *server, p peer, seed int, body func(db *database) measurement) measurement {
	db, err := s.fresh(ctx, "inkwell_bench_run")
	if err != nil {
		return measurement{err: err}
	}
	defer s.drop(ctx, db)
	if seed > 0 {
		if err := seedForReads(ctx, db, seed); err != nil {
			return measurement{err: err}
		}
	}
	if err := p.open(ctx, db); err != nil {
		return measurement{err: err}
	}
	defer p.close()
	return body(db)
}
