// Command seed migrates a database and fills it: with the people, emails and
// posts of the SQLAlchemy tutorials inkwell answers, and, with --users N, N
// generated users with their addresses, profiles, posts and tags, inserted
// with COPY in batches. It then prints a user with their addresses and the
// posts of the first users, as the tutorials do.
//
// Into empty tables (a new database, or with --reset), it loads the users in
// one transaction, pg_restore's way: keys, indexes and foreign keys come off
// for the copy and are built after it, as the schema owner (--migrate-url).
// Otherwise it adds them in batches, each its own transaction (--load chooses).
//
// Running it again adds no duplicate tutorial rows. Ctrl-C or SIGTERM stops
// it cleanly and it exits 130 (143 for SIGTERM): an initial load is rolled
// back whole, the schema as it was; in batches, committed batches stay whole,
// the batch in progress is rolled back, and it says what was committed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime/pprof"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/term"

	"github.com/inkwell-dev/inkwell/db"
	"github.com/inkwell-dev/inkwell/internal/cli"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

const usage = `usage: seed [flags]

Migrates the database, seeds the SQLAlchemy tutorials' people and posts (once,
however often it runs), adds --users generated users with COPY, and prints a
user with their addresses and the posts of the first users.

Flags:
`

type config struct {
	databaseURL      string
	migrateURL       string
	users            int
	addressesPerUser int
	postsPerUser     int
	followsPerUser   int
	tags             int
	seed             uint64
	batchSize        int
	poolSize         int
	load             string // loadAuto, loadInitial or loadBatched
	workMem          string // maintenance_work_mem of an initial load's index builds
	workers          int    // max_parallel_maintenance_workers of them
	reset            bool
	verbose          bool
	logger           *slog.Logger // with --verbose
	trace            bool
	tracing          trace.TracerProvider // with --trace
	cpuProfile       string
	progressBar      bool // draw a bar (stderr is a terminal), not lines
	migrations       fs.FS
	extension        extension // the tables of yours it fills (tables.go)
}

// The ways --load can add the generated users.
const (
	loadAuto    = "auto"
	loadInitial = "initial"
	loadBatched = "batched"
)

func main() { os.Exit(mainFS(db.Migrations())) }

// mainFS is main with the migrations in fsys, returning the exit code (a
// test runs its own binary as the command, with a migration more).
func mainFS(fsys fs.FS) int {
	return cli.Run(func(ctx context.Context) int {
		return runFS(ctx, fsys, os.Args[1:], os.Stdout, os.Stderr, term.IsTerminal(int(os.Stderr.Fd())))
	})
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, terminal bool) int {
	return runFS(ctx, db.Migrations(), args, stdout, stderr, terminal)
}

// runFS is run with the migrations in fsys: the schema this seed knows.
func runFS(ctx context.Context, fsys fs.FS, args []string, stdout, stderr io.Writer, terminal bool) int {
	return runWith(ctx, fsys, seedExtension(), args, stdout, stderr, terminal)
}

// runWith is runFS filling the tables of ext too.
func runWith(ctx context.Context, fsys fs.FS, ext extension, args []string, stdout, stderr io.Writer, terminal bool) int {
	flags := cli.New(cli.Spec{Name: "seed", Usage: usage, Dash: "--"}, stderr)
	cfg, err := parseFlags(flags, args)
	if err != nil {
		return flags.Fail(err)
	}
	cfg.progressBar = terminal
	cfg.migrations = fsys
	cfg.extension = ext
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "seed: --cpuprofile:", err)
			return 2
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	if cfg.trace {
		tp, stop, err := startTracing(stderr)
		if err != nil {
			fmt.Fprintln(stderr, "seed:", err)
			return 1
		}
		defer func() { _ = stop(context.WithoutCancel(ctx)) }()
		cfg.tracing = tp
	}
	if err := seed(ctx, cfg, stdout, stderr); err != nil {
		var rolledBack errRolledBack
		switch {
		case ctx.Err() != nil && errors.As(err, &rolledBack):
			fmt.Fprintln(stderr, "seed: interrupted; the initial load was rolled back: nothing of it was written")
		case ctx.Err() != nil:
			fmt.Fprintln(stderr, "seed: interrupted; the batch in progress was rolled back")
		case errors.As(err, &rolledBack):
			fmt.Fprintln(stderr, "seed:", err)
			fmt.Fprintln(stderr, "seed: the initial load was rolled back: nothing of it was written")
		default:
			fmt.Fprintln(stderr, "seed:", err)
		}
		return 1
	}
	return 0
}

func parseFlags(flags *cli.FlagSet, args []string) (config, error) {
	var cfg config
	databaseURL, migrateURL := flags.DatabaseURL("database to seed"), flags.MigrateURL()
	flags.IntVar(&cfg.users, "users", 0, "generated users to add")
	flags.IntVar(&cfg.addressesPerUser, "addresses-per-user", 2, "email addresses of each generated user")
	flags.IntVar(&cfg.postsPerUser, "posts-per-user", 3, "posts of each generated user")
	flags.IntVar(&cfg.followsPerUser, "follows-per-user", 5, "users each generated user follows, on average (0 to twice as many; skewed: the first users are followed by many)")
	flags.IntVar(&cfg.tags, "tags", 50, "tag names the generated posts draw from (each post has 0 to 3)")
	flags.Uint64Var(&cfg.seed, "seed", 0, "seed of the generated data: the same seed gives the same data (0: a random one, printed)")
	flags.IntVar(&cfg.batchSize, "batch-size", 10_000, "generated users per batch; each batch is one transaction")
	flags.IntVar(&cfg.poolSize, "pool-size", 4, "connections in the pool")
	flags.BoolVar(&cfg.reset, "reset", false, "empty every table first")
	flags.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (for go tool pprof)")
	flags.StringVar(&cfg.load, "load", loadAuto, "how to add the users: initial (into empty tables, one transaction, keys and indexes built after the copy; as the --migrate-url role), batched (one transaction per batch), or auto (initial when the tables are empty and --users > 0)")
	flags.StringVar(&cfg.workMem, "maintenance-work-mem", "", "maintenance_work_mem while an initial load builds keys and indexes (default "+repo.DefaultMaintenanceWorkMem+")")
	flags.IntVar(&cfg.workers, "maintenance-workers", 0, fmt.Sprintf("max_parallel_maintenance_workers for those builds (0: %d; -1: none)", repo.DefaultMaintenanceWorkers))
	flags.BoolVar(&cfg.verbose, "verbose", false, "log every statement (name, duration, rows; no arguments) and the pool's statistics")
	flags.BoolVar(&cfg.trace, "trace", false, "print the run's OpenTelemetry spans on stderr, one JSON object a span: every statement, batch, COPY and transaction (no arguments)")
	flags.AtLeast(0, "users", "addresses-per-user", "posts-per-user", "follows-per-user", "tags")
	flags.AtLeast(1, "batch-size", "pool-size")
	flags.AtLeast(-1, "maintenance-workers")
	if err := flags.Parse(args); err != nil {
		return cfg, err
	}
	cfg.databaseURL, cfg.migrateURL = *databaseURL, *migrateURL
	switch cfg.load {
	case loadAuto, loadInitial, loadBatched:
	default:
		return cfg, fmt.Errorf("--load %q: must be auto, initial or batched", cfg.load)
	}
	if cfg.databaseURL == "" {
		return cfg, fmt.Errorf("%w (make seed starts a local one)", flags.ErrNoDatabase())
	}
	return cfg, nil
}
