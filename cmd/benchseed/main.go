// Command benchseed measures cmd/seed against the limits of the server and
// of plain pgx, on the same rows, in the same run: it seeds fresh databases
// with the seed binary (its initial load, and --load batched, checking that
// both made the same rows with every constraint valid), loads another from
// the same generator with pgx CopyFrom alone, and has the server load the
// seeded rows itself, with binary COPY from server-side files, (A) into the
// indexed tables and (B) into bare tables followed by keys, indexes and
// foreign keys. It prints rows per second, the ratios and each process's
// peak memory. Rounds alternate the order of the client loads.
//
//	benchseed -seed-bin bin/seed [-users 1000000] [-rounds 3] [-database-url URL]
//
// The URL (default $DATABASE_URL) names a server and a role that may create
// databases and write server-side files (a superuser, on a local server);
// the databases are made anew for every run.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inkwell-dev/inkwell/internal/cli"
	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

type config struct {
	databaseURL      string
	seedBin          string
	users            int
	addressesPerUser int
	postsPerUser     int
	tags             int
	seed             uint64
	batchSize        int
	rounds           int
}

const usage = `usage: benchseed [-seed-bin bin/seed] [-users 1000000] [-rounds 3] [-database-url URL]

Measures cmd/seed (its initial load and --load batched) against plain pgx
CopyFrom and the server's own COPY from files, on the same rows, in fresh
databases on the server of the URL (a role that may create databases and
write server-side files).

Flags:
`

func main() {
	os.Exit(cli.Run(func(ctx context.Context) int {
		if len(os.Args) > 1 && os.Args[1] == "raw" {
			return rawMain(ctx, os.Args[2:], os.Stderr)
		}
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}))
}

// addFlags registers the flags benchseed and its raw loader share; the
// database URL is in cfg.databaseURL once flags are parsed.
func addFlags(flags *cli.FlagSet, cfg *config) (databaseURL *string) {
	databaseURL = flags.DatabaseURL("server to use")
	flags.IntVar(&cfg.users, "users", 1_000_000, "generated users to load")
	flags.IntVar(&cfg.addressesPerUser, "addresses-per-user", 2, "email addresses per user")
	flags.IntVar(&cfg.postsPerUser, "posts-per-user", 3, "posts per user")
	flags.IntVar(&cfg.tags, "tags", 50, "tag names the posts draw from")
	flags.Uint64Var(&cfg.seed, "seed", 1, "seed of the generated data")
	flags.IntVar(&cfg.batchSize, "batch-size", 10_000, "users per batch (one transaction each)")
	flags.AtLeast(0, "addresses-per-user", "posts-per-user", "tags")
	flags.AtLeast(1, "users", "batch-size")
	return databaseURL
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg config
	flags := cli.New(cli.Spec{Name: "benchseed", Usage: usage}, stderr)
	databaseURL := addFlags(flags, &cfg)
	flags.StringVar(&cfg.seedBin, "seed-bin", "bin/seed", "the built cmd/seed")
	flags.IntVar(&cfg.rounds, "rounds", 3, "rounds; each runs every load once, and the report gives the medians")
	flags.AtLeast(1, "rounds")
	if err := flags.Parse(args); err != nil {
		return flags.Fail(err)
	}
	cfg.databaseURL = *databaseURL
	if cfg.databaseURL == "" {
		return flags.Fail(flags.ErrNoDatabase())
	}
	if err := repo.CheckURL(cfg.databaseURL); err != nil { // its errors quote no part of the url
		return flags.Fail(err)
	}
	if err := bench(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "benchseed:", err)
		return 1
	}
	return 0
}

// measurement is one load: how long it took, the loader's CPU time (user
// and system; a busy machine stretches the elapsed time more than this) and
// its peak memory.
type measurement struct {
	elapsed time.Duration
	cpu     time.Duration
	maxRSS  int64 // bytes
}

func bench(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	loadArgs := []string{"--users", strconv.Itoa(cfg.users), "--addresses-per-user", strconv.Itoa(cfg.addressesPerUser),
		"--posts-per-user", strconv.Itoa(cfg.postsPerUser), "--tags", strconv.Itoa(cfg.tags),
		// No follows: plain pgx, the baseline, writes none.
		"--follows-per-user", "0",
		"--seed", strconv.FormatUint(cfg.seed, 10), "--batch-size", strconv.Itoa(cfg.batchSize)}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	loaders := map[string][]string{
		"inkwell":         append([]string{cfg.seedBin}, loadArgs...),
		"inkwell-batched": append([]string{cfg.seedBin, "--load", "batched"}, loadArgs...),
		"pgx":             append([]string{self, "raw"}, loadArgs...),
	}
	results := map[string][]measurement{}
	loadBefore := loadAverage()
	var rows map[string]int64
	dir, err := serverDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for round := range cfg.rounds {
		order := []string{"inkwell", "inkwell-batched", "pgx"}
		if round%2 == 1 {
			slices.Reverse(order)
		}
		urls := map[string]string{}
		for _, name := range order {
			dbURL, err := freshDatabase(ctx, cfg.databaseURL, "inkwell_bench_"+name)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "round %d: %s loading %d users...\n", round+1, name, cfg.users)
			m, err := load(ctx, loaders[name], dbURL, stderr)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			counts, err := tableCounts(ctx, dbURL)
			if err != nil {
				return err
			}
			if name != "pgx" {
				// seed adds the tutorial's people too; the plain load does not.
				for table, n := range tutorialRows {
					counts[table] -= n
				}
			}
			if rows == nil {
				rows = counts
			} else if !maps.Equal(rows, counts) {
				return fmt.Errorf("%s loaded other rows: %v, not %v", name, counts, rows)
			}
			results[name] = append(results[name], m)
			urls[name] = dbURL
		}
		if err := sameRows(ctx, urls["inkwell"], urls["inkwell-batched"]); err != nil {
			return err
		}
		// The server's own limits on the same rows: (A) COPY from files into
		// the indexed tables, (B) into bare tables, then keys, indexes and
		// foreign keys.
		if round == 0 {
			if err := exportRows(ctx, urls["inkwell"], dir); err != nil {
				return err
			}
		}
		for _, name := range []string{"server-A", "server-B"} {
			dbURL, err := freshDatabase(ctx, cfg.databaseURL, "inkwell_bench_"+strings.ReplaceAll(name, "-", "_"))
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "round %d: %s loading the same rows...\n", round+1, name)
			m, err := serverLoad(ctx, dbURL, dir, name == "server-B")
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			results[name] = append(results[name], m)
		}
	}
	settings, err := serverSettings(ctx, cfg.databaseURL)
	if err != nil {
		return err
	}
	settings += "; load average " + loadBefore + " at the start, " + loadAverage() + " at the end"
	report(stdout, cfg, rows, results, settings)
	return nil
}

// loadAverage is the machine's one-minute load average, or "unknown": on a
// shared machine it says how far to trust the times.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// serverSettings describes the server, since its settings move the figures.
func serverSettings(ctx context.Context, dbURL string) (string, error) {
	conn, err := repo.Connect(ctx, dbURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var version, fsync, syncCommit, sharedBuffers, walLevel string
	err = conn.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync'),
		current_setting('synchronous_commit'), current_setting('shared_buffers'), current_setting('wal_level')`).Scan(
		&version, &fsync, &syncCommit, &sharedBuffers, &walLevel)
	return fmt.Sprintf("PostgreSQL %s, fsync %s, synchronous_commit %s, shared_buffers %s, wal_level %s",
		version, fsync, syncCommit, sharedBuffers, walLevel), err
}

// load runs a loader against dbURL and measures it.
func load(ctx context.Context, argv []string, dbURL string, stderr io.Writer) (measurement, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	cmd.Stderr = stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return measurement{}, err
	}
	m := measurement{elapsed: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.maxRSS = ru.Maxrss * 1024 // Linux reports KiB
	}
	m.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return m, nil
}

// freshDatabase drops and creates database name on the server of admin,
// migrates it, and returns its URL.
func freshDatabase(ctx context.Context, admin, name string) (string, error) {
	conn, err := repo.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	for _, stmt := range []string{"DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)", "CREATE DATABASE " + ident} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return "", fmt.Errorf("%s: %w", stmt, err)
		}
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("database URL: want a postgres:// URL") // url.Parse's error quotes it
	}
	u.Path = "/" + name
	pool, err := repo.OpenPool(ctx, u.String(), repo.PoolConfig{MaxConns: 1})
	if err != nil {
		return "", err
	}
	defer pool.Close()
	if _, err := migrate.UpPool(ctx, pool); err != nil {
		return "", err
	}
	return u.String(), nil
}

var tables = []string{"users", "addresses", "profiles", "posts", "tags", "post_tags"}

func tableCounts(ctx context.Context, dbURL string) (map[string]int64, error) {
	conn, err := repo.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	counts := map[string]int64{}
	for _, t := range tables {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
			return nil, err
		}
		counts[t] = n
	}
	return counts, nil
}

// tutorialRows are the rows cmd/seed writes for the tutorial's people.
var tutorialRows = map[string]int64{"users": 8, "addresses": 10, "posts": 4, "tags": 3, "post_tags": 5}

func median(ms []measurement, f func(measurement) float64) float64 {
	vals := make([]float64, len(ms))
	for i, m := range ms {
		vals[i] = f(m)
	}
	slices.Sort(vals)
	if len(vals)%2 == 1 {
		return vals[len(vals)/2]
	}
	return (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
}

func report(w io.Writer, cfg config, rows map[string]int64, results map[string][]measurement, settings string) {
	var total int64
	for _, t := range tables {
		total += rows[t]
	}
	fmt.Fprintf(w, "%d users, %d addresses, %d profiles, %d posts, %d post tags (%d rows), batches of %d users;\n"+
		"%s; %d CPUs; median of %d round(s):\n\n",
		rows["users"], rows["addresses"], rows["profiles"], rows["posts"], rows["post_tags"], total, cfg.batchSize,
		settings, runtime.NumCPU(), cfg.rounds)
	fmt.Fprintln(w, "| loader | time | rows/s | client CPU | peak memory |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	rate := map[string]float64{}
	for _, name := range []string{"server-A", "server-B", "pgx", "inkwell-batched", "inkwell"} {
		secs := median(results[name], func(m measurement) float64 { return m.elapsed.Seconds() })
		rss := median(results[name], func(m measurement) float64 { return float64(m.maxRSS) })
		rate[name] = float64(total) / secs
		label := map[string]string{
			"server-A":        "(A) server COPY from files into the indexed tables",
			"server-B":        "(B) server COPY from files into bare tables, then keys, indexes, foreign keys",
			"pgx":             "plain pgx CopyFrom, batches",
			"inkwell-batched": "inkwell (cmd/seed --load batched)",
			"inkwell":         "inkwell (cmd/seed, initial load)",
		}[name]
		memory, cpu := "(server)", "(server)"
		if rss > 0 {
			memory = fmt.Sprintf("%.0f MiB", rss/(1<<20))
			cpu = fmt.Sprintf("%.1f s", median(results[name], func(m measurement) float64 { return m.cpu.Seconds() }))
		}
		fmt.Fprintf(w, "| %s | %.1f s | %.0f | %s | %s |\n", label, secs, rate[name], cpu, memory)
	}
	fmt.Fprintf(w, "\nseed / A: %.2f; seed / B: %.2f; seed / pgx: %.2f; seed / batched seed: %.2f\n",
		rate["inkwell"]/rate["server-A"], rate["inkwell"]/rate["server-B"], rate["inkwell"]/rate["pgx"],
		rate["inkwell"]/rate["inkwell-batched"])
	fmt.Fprintln(w, "(the initial load and the batched path made the same rows; every constraint valid)")
}
