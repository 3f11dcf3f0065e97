package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inkwell-dev/inkwell/internal/fakedata"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// loadResult is one backend's load of the generated users.
type loadResult struct {
	path      string // the repo method that loaded them
	rows      repo.BulkResult
	elapsed   time.Duration
	clientCPU time.Duration // this process's, user and system
	machine   cpuShare      // of every core, over the load
	counts    map[string]int64
	spread    []workerRows // on Citus
}

// generator is the seed's generator (cmd/seed) with the run's settings,
// its follows included.
func generator(cfg config, seed uint64) *fakedata.Generator {
	return fakedata.New(fakedata.Config{Seed: seed, AddressesPerUser: cfg.addressesPerUser,
		PostsPerUser: cfg.postsPerUser, Tags: cfg.tags, Tables: fakedata.FollowTables, Extra: fakedata.Follows(cfg.followsPerUser)})
}

// load loads cfg.users generated users into b's empty database the way
// cmd/seed does (InitialLoadGraphs, or BulkInsertGraphs in batches), as
// the superuser, who may take the keys off, and then counts the rows.
func load(ctx context.Context, cfg config, b *backend) error {
	pool, err := repo.OpenPool(ctx, b.url, repo.PoolConfig{MaxConns: 4})
	if err != nil {
		return err
	}
	defer pool.Close()
	r := repo.New(pool)
	users := generator(cfg, cfg.seed).Users(cfg.users)
	cpu0, client0 := readCPU(), clientCPU()
	start := time.Now()
	switch cfg.load {
	case loadInitial:
		b.load.path = "InitialLoadGraphs (the initial load: one transaction, keys and indexes built after the copy)"
		b.load.rows, err = r.InitialLoadGraphs(ctx, users, repo.InitialLoadOptions{Tables: fakedata.FollowTables})
	default:
		b.load.path = fmt.Sprintf("BulkInsertGraphs (batches of %d users, a transaction each)", cfg.batchSize)
		b.load.rows, err = r.BulkInsertGraphs(ctx, users, repo.BulkOptions{BatchSize: cfg.batchSize, Tables: fakedata.FollowTables})
	}
	b.load.elapsed = time.Since(start)
	b.load.clientCPU = clientCPU() - client0
	b.load.machine = readCPU().since(cpu0)
	if err != nil {
		return fmt.Errorf("%s: load: %w", b.name, err)
	}
	if b.load.counts, err = countRows(ctx, b.url); err != nil {
		return err
	}
	if b.load.counts["users"] != int64(cfg.users) {
		return fmt.Errorf("%s: %d users in the database after loading %d", b.name, b.load.counts["users"], cfg.users)
	}
	if b.citus != nil {
		b.load.spread, err = spread(ctx, b.url)
	}
	return err
}

// countRows counts the rows of every table of the public schema but
// goose's, read from the catalog.
func countRows(ctx context.Context, url string) (map[string]int64, error) {
	conn, err := repo.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		  AND c.relname <> 'goose_db_version' ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for _, t := range tables {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		counts[t] = n
	}
	return counts, nil
}

// sameRows fails unless both backends hold the same number of rows in
// every table.
func sameRows(a, b *backend) error {
	if !maps.Equal(a.load.counts, b.load.counts) {
		return fmt.Errorf("the backends loaded other rows: %s %v, %s %v", a.name, a.load.counts, b.name, b.load.counts)
	}
	return nil
}

// workerRows is what citus_shards says one node holds of the distributed
// (hash-distributed, not reference) tables.
type workerRows struct {
	node   string // host:port
	shards int64
	bytes  int64
	users  int64 // rows of the users table's shards there
	rows   int64 // rows of every distributed table's shards there
}

// spread reads, for every node holding shards, the shards and their sizes
// from citus_shards and the rows in them (a count on each shard).
func spread(ctx context.Context, url string) ([]workerRows, error) {
	conn, err := repo.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `WITH counts AS (
		SELECT r.shardid, r.result::bigint AS n
		FROM pg_dist_partition p,
		     run_command_on_shards(p.logicalrelid, 'SELECT count(*) FROM %s') r
		WHERE p.partmethod = 'h')
	SELECT s.nodename || ':' || s.nodeport, count(*), sum(s.shard_size)::bigint,
	       coalesce(sum(c.n) FILTER (WHERE s.table_name = 'users'::regclass), 0)::bigint, sum(c.n)::bigint
	FROM citus_shards s JOIN counts c USING (shardid)
	WHERE s.citus_table_type = 'distributed'
	GROUP BY 1 ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (workerRows, error) {
		var w workerRows
		err := row.Scan(&w.node, &w.shards, &w.bytes, &w.users, &w.rows)
		return w, err
	})
}

// cpuTimes are the machine's CPU times from /proc/stat, in ticks.
type cpuTimes struct{ busy, iowait, total int64 }

// cpuShare is how much of every core was busy (or waiting for I/O) over
// an interval, 0 to 1; negative when /proc/stat could not be read.
type cpuShare struct{ busy, iowait float64 }

func readCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 6 || f[0] != "cpu" {
		return cpuTimes{}
	}
	var t cpuTimes
	for i, s := range f[1:] {
		if i >= 8 { // guest time is counted in user time already
			break
		}
		n, _ := strconv.ParseInt(s, 10, 64)
		t.total += n
		switch i {
		case 3: // idle
		case 4:
			t.iowait = n
		default:
			t.busy += n
		}
	}
	return t
}

func (t cpuTimes) since(start cpuTimes) cpuShare {
	total := t.total - start.total
	if total <= 0 || start.total == 0 {
		return cpuShare{-1, -1}
	}
	return cpuShare{float64(t.busy-start.busy) / float64(total), float64(t.iowait-start.iowait) / float64(total)}
}

// clientCPU is this process's CPU time so far, user and system.
func clientCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the machine's load averages (1, 5 and 15 minutes), or
// "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
