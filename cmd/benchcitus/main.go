// Command benchcitus measures inkwell on a Citus cluster (a coordinator and
// two workers) against one PostgreSQL server, in one run, as ratios. It
// starts both on this machine, in temporary folders, with the same
// durability settings, migrates a database on each with our migrations,
// loads the same generated users into both (the seed's generator and load
// path), shows how Citus spread the rows over the workers, then runs point
// reads, registrations and a cross-shard list on each, in alternating
// rounds, and reports the median time per call, the ratio Citus / one node
// and the round trips each call took on the wire. Then (-grow, on by
// default) it grows the Citus cluster under traffic: clients call at a
// steady rate while a third worker is added and shards moved onto it
// online, and every row is checked after (move.go). It prints a markdown
// report (and writes it to -out). The servers are stopped and their folders
// removed at the end, also after an error or Ctrl-C.
//
//	benchcitus [-users 1000000] [-ops 200] [-rounds 5] [-grow=false] [-out FILE] [-dir DIR]
//
// It needs the PostgreSQL server binaries and the citus extension installed
// in them (pgcluster.ErrNoCitus says where to get it).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/inkwell-dev/inkwell/internal/cli"
)

type config struct {
	users            int
	addressesPerUser int
	postsPerUser     int
	followsPerUser   int
	tags             int
	seed             uint64
	ops              int // calls of each operation per backend per round
	rounds           int
	workers          int
	load             string // loadInitial or loadBatched
	batchSize        int
	grow             bool          // the growth phase: a worker added and shards moved under traffic
	growBefore       time.Duration // of calls before the worker is added
	out              string
	dir              string // where the servers' folders go ("": the system's temporary folder)
	// measured, if set, is called with the backends once the calls are
	// measured, before the growth phase (the test reads them).
	measured func(ctx context.Context, backends []*backend, res *results) error
}

// The load paths -load chooses between.
const (
	loadInitial = "initial"
	loadBatched = "batched"
)

const usage = `usage: benchcitus [-users 1000000] [-ops 200] [-rounds 5] [-out FILE] [-dir DIR]

Measures inkwell on a Citus cluster against one PostgreSQL server, started on
this machine for the run and removed at the end, and prints a markdown report.

Flags:
`

func main() {
	os.Exit(cli.Run(func(ctx context.Context) int { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) }))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return cli.Fail(stderr, "benchcitus", err)
	}
	if err := bench(ctx, cfg, stdout, stderr); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "benchcitus: interrupted; the servers were stopped and their folders removed")
		}
		fmt.Fprintln(stderr, "benchcitus:", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	flags := cli.New(cli.Spec{Name: "benchcitus", Usage: usage}, stderr)
	flags.IntVar(&cfg.users, "users", 1_000_000, "generated users to load into each backend")
	flags.IntVar(&cfg.addressesPerUser, "addresses-per-user", 2, "email addresses per user")
	flags.IntVar(&cfg.postsPerUser, "posts-per-user", 3, "posts per user")
	flags.IntVar(&cfg.followsPerUser, "follows-per-user", 5, "users each user follows, on average (cmd/seed's skew)")
	flags.IntVar(&cfg.tags, "tags", 50, "tag names the posts draw from")
	flags.Uint64Var(&cfg.seed, "seed", 1, "seed of the generated data (registrations use the next one)")
	flags.IntVar(&cfg.ops, "ops", 200, "calls of each operation per backend per round")
	flags.IntVar(&cfg.rounds, "rounds", 5, "rounds; the backends take turns going first")
	flags.IntVar(&cfg.workers, "workers", 2, "Citus workers")
	flags.StringVar(&cfg.load, "load", loadInitial, "load path: initial (InitialLoadGraphs: one transaction, keys and indexes built after the copy) or batched (BulkInsertGraphs)")
	flags.IntVar(&cfg.batchSize, "batch-size", 10_000, "users per batch with -load batched")
	flags.BoolVar(&cfg.grow, "grow", true, "then, on Citus, add a worker and move shards onto it (logical replication) while clients call, and check every row")
	flags.DurationVar(&cfg.growBefore, "grow-before", 10*time.Second, "how long the clients call before the worker is added")
	flags.StringVar(&cfg.out, "out", "", "also write the report to this file")
	flags.StringVar(&cfg.dir, "dir", "", "folder for the servers' data, removed at the end (default: the system's temporary folder)")
	flags.AtLeast(0, "addresses-per-user", "posts-per-user", "follows-per-user", "tags")
	flags.AtLeast(1, "users", "ops", "rounds", "workers", "batch-size")
	if err := flags.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.load != loadInitial && cfg.load != loadBatched {
		return cfg, fmt.Errorf("-load %q: must be initial or batched", cfg.load)
	}
	return cfg, nil
}
