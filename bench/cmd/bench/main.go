// Command bench measures inkwell against hand-written pgx, GORM, bun, ent and
// SQLAlchemy 1.4 on
// the same schema (inkwell's migrations), data, pool size and server, and
// writes BENCHMARKS.md and a chart.
//
// Noise: the machines are shared, so every round runs every peer, in an
// order that rotates, and each peer is reported as its ratio to pgx in the
// same round; the tables give medians over the rounds (the bulk loads may
// run in fewer: -bulk-rounds). Every measurement runs on a fresh database (a
// copy of a migrated template), through a pool that has connected, and an
// operation timed over many calls first makes untimed ones (warmUp).
//
// With -rtt, a second pass runs every peer (SQLAlchemy's process too)
// through an in-process proxy that delays each direction by half the round
// trip time, as if the server were in another zone of the region; its table
// counts round trips on the wire.
//
// Durability: each benchmark database gets the synchronous_commit of
// -synchronous-commit (the loopback pass the first value; the -rtt pass runs
// once per value, a table each, its heading naming it). With on, a commit
// waits for its WAL to reach the disk, and on a slow disk that flush, not the
// network, is most of a write's time; with off it does not wait, and a
// write's time is the network's and the server's work.
//
// The report is written between its markers in -out (a section, -section);
// the rest of the file is kept.
//
//	bench -database-url URL [-full | -smoke] [-rounds N] [-bulk-rounds N] [-rtt 1ms] [-synchronous-commit on,off] [-out BENCHMARKS.md] [-section report] [-chart bench.svg]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inkwell-dev/inkwell/internal/cli"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

type config struct {
	databaseURL string
	full        bool
	smoke       bool // every operation once, at tiny sizes
	rounds      int
	poolSize    int
	rtt         time.Duration // > 0: a second pass through a latency proxy
	rttRounds   int
	bulkRounds  int      // rounds of the bulk loads in each pass, if fewer
	only        string   // comma-separated operation keys; empty: all
	syncCommits []string // synchronous_commit of the benchmark databases: the loopback pass's first, the -rtt pass's each
	out, chart  string
	section     string // the report's section of out
}

const usage = `usage: bench -database-url URL [-full | -smoke] [-rounds N] [-bulk-rounds N] [-rtt 1ms] [-synchronous-commit on,off] [-out BENCHMARKS.md] [-section report] [-chart bench.svg]

Measures inkwell against hand-written pgx, GORM, bun, ent and SQLAlchemy on
the same schema, data, pool size and server, and writes the report and a chart.

Flags:
`

func main() {
	os.Exit(cli.Run(func(ctx context.Context) int { return command(ctx, os.Args[1:], os.Stderr) }))
}

// command is main without the process: it returns the exit code.
func command(ctx context.Context, args []string, stderr io.Writer) int {
	var cfg config
	flags := cli.New(cli.Spec{Name: "bench", Usage: usage}, stderr)
	databaseURL := flags.DatabaseURL("a superuser's URL on the server to use")
	flags.BoolVar(&cfg.full, "full", false, "the full run: bulk loads of 1M users, more rounds")
	flags.BoolVar(&cfg.smoke, "smoke", false, "tiny sizes: check that every peer does every operation (with -rounds 1; the figures mean nothing)")
	flags.IntVar(&cfg.rounds, "rounds", 10, "rounds; each runs every operation on every peer")
	flags.IntVar(&cfg.poolSize, "pool-size", 4, "connections in every peer's pool")
	flags.DurationVar(&cfg.rtt, "rtt", 0, "also run every peer through an in-process proxy adding this round trip time (e.g. 1ms), for a second table")
	flags.IntVar(&cfg.rttRounds, "rtt-rounds", 5, "rounds of the -rtt pass")
	flags.IntVar(&cfg.bulkRounds, "bulk-rounds", 0, "rounds of the bulk loads in each pass, if fewer than the pass's (0: as many); each is one long measurement, steadier than the short operations")
	flags.StringVar(&cfg.only, "only", "", "run only these operations, by key, comma-separated (e.g. register,register-taken)")
	syncCommits := flags.String("synchronous-commit", "on", "synchronous_commit of the benchmark databases, comma-separated: the loopback pass runs with the first, the -rtt pass once with each (e.g. on,off)")
	flags.StringVar(&cfg.out, "out", "BENCHMARKS.md", "the report to write, into its section (the rest of the file is kept)")
	flags.StringVar(&cfg.section, "section", "report", "the section of -out the report owns, between its markers; appended if the file has none")
	flags.StringVar(&cfg.chart, "chart", "docs/bench.svg", "the chart to write")
	if err := flags.Parse(args); err != nil {
		return flags.Fail(err)
	}
	cfg.databaseURL = *databaseURL
	if cfg.databaseURL == "" {
		return flags.Fail(flags.ErrNoDatabase())
	}
	cfg.syncCommits = strings.Split(*syncCommits, ",")
	for _, v := range cfg.syncCommits {
		if !slices.Contains([]string{"on", "off", "local", "remote_write", "remote_apply"}, v) {
			return flags.Fail(fmt.Errorf("-synchronous-commit %q: not a synchronous_commit setting", v))
		}
	}
	if err := checkReportFile(cfg.out, cfg.section); err != nil {
		return flags.Fail(err)
	}
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

func peers() []peer {
	return []peer{&pgxPeer{}, &inkwellPeer{}, &gormPeer{}, &bunPeer{}, &entPeer{}, newSQLAlchemyPeer()}
}

// isLoad tells a bulk load: an operation timed once per measurement, on
// thousands of users.
func (op operation) isLoad() bool { return op.size > 0 }

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
	admin, err := boundConnect(cfg.databaseURL)
	if err != nil {
		return err
	}
	s := &server{admin: admin, poolSize: cfg.poolSize}
	if err := s.prepare(ctx); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	ops := operations(sizesOf(cfg.full, cfg.smoke))
	if cfg.only != "" {
		keys := strings.Split(cfg.only, ",")
		ops = slices.DeleteFunc(ops, func(op operation) bool { return !slices.Contains(keys, op.key) })
		if len(ops) == 0 {
			return fmt.Errorf("-only %q names no operation", cfg.only)
		}
	}
	start := time.Now()
	s.syncCommit = cfg.syncCommits[0]
	results, err := runPass(ctx, s, ops, cfg.rounds, cfg.bulkRoundsOf(cfg.rounds), "loopback, synchronous_commit "+s.syncCommit, start)
	if err != nil {
		return err
	}
	var rttTables []rttTable
	if cfg.rtt > 0 {
		network, addr, err := s.serverAddr()
		if err != nil {
			return err
		}
		if s.proxy, err = startProxy(network, addr, cfg.rtt); err != nil {
			return err
		}
		defer s.proxy.close()
		for _, sc := range cfg.syncCommits {
			s.syncCommit = sc
			rttResults, err := runPass(ctx, s, ops, cfg.rttRounds, cfg.bulkRoundsOf(cfg.rttRounds), cfg.rtt.String()+" RTT, synchronous_commit "+sc, start)
			if err != nil {
				return err
			}
			rttTables = append(rttTables, rttTable{syncCommit: sc, rows: summarize(ops, rttResults)})
		}
	}
	settings, err := s.settings(ctx)
	if err != nil {
		return err
	}
	load, _ := os.ReadFile("/proc/loadavg")
	env := fmt.Sprintf("%s; %d CPUs; pool of %d connections for every peer; %d rounds, %s; load average at the end %s",
		settings, runtime.NumCPU(), cfg.poolSize, cfg.rounds, time.Now().UTC().Format("2006-01-02"),
		strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	table := summarize(ops, results)
	if err := writeReport(cfg, table, rttTables, env); err != nil {
		return err
	}
	return writeChart(cfg.chart, table)
}

// bulkRoundsOf is how many of a pass's rounds run the bulk loads.
func (cfg config) bulkRoundsOf(rounds int) int {
	if cfg.bulkRounds > 0 {
		return min(cfg.bulkRounds, rounds)
	}
	return rounds
}

// runPass runs every operation on every peer, rounds times; the bulk loads
// only in the first bulkRounds.
func runPass(ctx context.Context, s *server, ops []operation, rounds, bulkRounds int, label string, start time.Time) (map[string]map[string][]measurement, error) {
	results := map[string]map[string][]measurement{} // op -> peer -> rounds
	all := peers()
	for round := range rounds {
		order := append(append([]peer{}, all[round%len(all):]...), all[:round%len(all)]...)
		for _, op := range ops {
			if op.isLoad() && round >= bulkRounds {
				continue
			}
			if results[op.name] == nil {
				results[op.name] = map[string][]measurement{}
			}
			for _, p := range order {
				m := op.run(ctx, s, p, round)
				if m.err != nil && !errors.Is(m.err, errUnsupported) {
					return nil, fmt.Errorf("%s, round %d, %s, %s: %w", label, round+1, op.name, p.name(), m.err)
				}
				results[op.name][p.name()] = append(results[op.name][p.name()], m)
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
			}
			fmt.Fprintf(os.Stderr, "%s round %d/%d: %s done (%v)\n", label, round+1, rounds, op.name, time.Since(start).Round(time.Second))
		}
	}
	return results, nil
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
	return fmt.Sprintf("PostgreSQL %s (server: fsync %s, synchronous_commit %s; the benchmark databases' synchronous_commit is in each table's heading)", version, fsync, sync), err
}

// measure times fn run n times on db, with the allocations and statements
// it made.
func measure(db *database, n int, fn func(i int) error) measurement {
	for i := range warmUps(n) {
		if err := fn(n + i); err != nil {
			return measurement{err: fmt.Errorf("warming up: %w", err)}
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	trips := db.roundTrips()
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
		roundTrips: float64(db.roundTrips()-trips) / float64(n),
	}
}

// warmUp is how many untimed calls a measurement of repeated calls makes
// first, with the indexes after the timed ones (n, n+1, ...): what is timed
// is the steady state of a service's warm pool, with its statements prepared
// (pgx's cache, GORM's) and the new database's catalog in the server's
// caches. More than five, since PostgreSQL plans a prepared statement's first
// five executions with their values before it settles on a generic plan.
const warmUp = 10

// warmUps is how many warm-up calls a measurement of n calls makes: none for
// a bulk load, which runs once and is long enough not to need them.
func warmUps(n int) int {
	if n > 1 {
		return warmUp
	}
	return 0
}

// onFresh runs body on a peer opened on a new database, then drops it.
func onFresh(ctx context.Context, s *server, p peer, seed int, body func(db *database) measurement) measurement {
	db, err := s.fresh(ctx, fmt.Sprint("inkwell_bench_run_", s.runs.Add(1)))
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
	m := body(db)
	if m.err == nil {
		m.err = ownersMatch(ctx, db)
	}
	return m
}

// connectTimeout bounds each connect of the run, as it bounds the other
// commands': pgx waits forever for a server that accepts and never answers.
var connectTimeout = strconv.Itoa(int(repo.DefaultConnectTimeout.Seconds()))

// boundConnect returns the URL with connect_timeout set when it sets none
// (or 0, no bound): every URL of the run (the template, each peer's
// database, the proxy's) is made from it, so every connect has the bound.
func boundConnect(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("-database-url: a postgres:// URL is needed")
	}
	q := u.Query()
	if t := q.Get("connect_timeout"); t == "" || t == "0" {
		q.Set("connect_timeout", connectTimeout)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}
