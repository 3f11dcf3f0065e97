package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgcluster"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// durability is the settings of every server, both backends alike: fsync
// and synchronous commits on, as the development cluster (cmd/devdb), with
// wal_level minimal (no replicas; a load into tables emptied in its
// transaction skips the WAL).
var durability = pgcluster.Options{Standalone: true}

const durabilityName = "pgcluster.Options{Standalone: true}"

// database is the database made and migrated on each backend.
const database = "inkwell_bench"

// The backends' names, in the report's order.
const (
	oneNode = "one node"
	citus   = "Citus"
)

// backend is one of the systems measured: its servers, a migrated database
// on them, and what was measured there.
type backend struct {
	name  string
	dir   string             // holds the servers' data; removed by stop
	node  *pgcluster.Cluster // the server applications connect to (the coordinator on Citus)
	citus *pgcluster.Citus   // nil for one node
	url   string             // of the database, as the superuser
	facts []serverFacts      // of each server
	load  loadResult
	ids   []int64 // the loaded users' ids, ascending
	ops   map[string]*opStats
	// registered counts the users the operations registered.
	registered int
}

// servers returns the backend's servers: the coordinator first.
func (b *backend) servers() []*pgcluster.Cluster {
	if b.citus == nil {
		return []*pgcluster.Cluster{b.node}
	}
	return append([]*pgcluster.Cluster{b.citus.Coordinator}, b.citus.Workers...)
}

// stop stops the backend's servers and removes their folder, whatever
// state they are in (it runs after errors and interruptions too).
func (b *backend) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	if b.citus != nil {
		err = b.citus.Stop(ctx)
	} else if b.node != nil && b.node.Running(ctx) {
		err = b.node.Stop(ctx)
	}
	return errors.Join(err, os.RemoveAll(b.dir))
}

// startOneNode starts one server with a migrated database. The backend it
// returns, even with an error, is the caller's to stop.
func startOneNode(ctx context.Context, dir string) (*backend, error) {
	b := &backend{name: oneNode}
	var err error
	if b.dir, err = os.MkdirTemp(dir, "inkwell-benchcitus-node-"); err != nil {
		return b, err
	}
	node, err := pgcluster.New(b.dir)
	if err != nil {
		return b, err
	}
	if err := node.Init(ctx, durability); err != nil {
		return b, err
	}
	b.node = node
	if err := node.Start(ctx); err != nil {
		return b, err
	}
	if err := node.Exec(ctx, "postgres", "CREATE DATABASE "+pgx.Identifier{database}.Sanitize()); err != nil {
		return b, err
	}
	return b, b.migrate(ctx)
}

// startCitus starts a coordinator and workers with a migrated database,
// the citus extension created in it on every node (pgcluster.Citus). The
// backend it returns, even with an error, is the caller's to stop.
func startCitus(ctx context.Context, dir string, workers int) (*backend, error) {
	b := &backend{name: citus}
	var err error
	if b.dir, err = os.MkdirTemp(dir, "inkwell-benchcitus-citus-"); err != nil {
		return b, err
	}
	if b.citus, err = pgcluster.StartCitus(ctx, b.dir, workers, durability); err != nil {
		return b, err
	}
	b.node = b.citus.Coordinator
	if err := b.citus.CreateDatabase(ctx, database); err != nil {
		return b, err
	}
	// Counts the single- and multi-shard executions of each operation.
	if err := b.node.Exec(ctx, database, "ALTER DATABASE "+pgx.Identifier{database}.Sanitize()+" SET citus.enable_stat_counters = on"); err != nil {
		return b, err
	}
	return b, b.migrate(ctx)
}

// migrate applies our migrations to the backend's database (on Citus, 00008
// distributes the tables) and sets b.url.
func (b *backend) migrate(ctx context.Context) error {
	url, err := b.node.URL(database)
	if err != nil {
		return err
	}
	pool, err := repo.OpenPool(ctx, url, repo.PoolConfig{MaxConns: 2})
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := migrate.UpPool(ctx, pool); err != nil {
		return fmt.Errorf("%s: migrate: %w", b.name, err)
	}
	b.url = url
	return nil
}

// startBackends starts one node and Citus. The backends it returns, even
// with an error, are the caller's to stop.
func startBackends(ctx context.Context, cfg config, stderr io.Writer) ([]*backend, error) {
	fmt.Fprintln(stderr, "starting one node...")
	one, err := startOneNode(ctx, cfg.dir)
	backends := []*backend{one}
	if err != nil {
		return backends, fmt.Errorf("one node: %w", err)
	}
	fmt.Fprintf(stderr, "starting Citus (a coordinator and %d workers)...\n", cfg.workers)
	dist, err := startCitus(ctx, cfg.dir, cfg.workers)
	backends = append(backends, dist)
	if err != nil {
		return backends, fmt.Errorf("citus: %w", err)
	}
	for _, b := range backends {
		for i, s := range b.servers() {
			f, err := readFacts(ctx, s, i)
			if err != nil {
				return backends, err
			}
			b.facts = append(b.facts, f)
		}
	}
	return backends, nil
}

// serverFacts are the settings of one server that move the figures.
type serverFacts struct {
	role                                                string // "server", "coordinator", "worker 1", ...
	version, fsync, syncCommit, walLevel, sharedBuffers string
	citusVersion, shardCount, multiShardMode, localExec string // on Citus
}

// readFacts reads the settings of server, the i-th of its backend.
func readFacts(ctx context.Context, server *pgcluster.Cluster, i int) (serverFacts, error) {
	url, err := server.URL(database)
	if err != nil {
		return serverFacts{}, err
	}
	conn, err := repo.Connect(ctx, url)
	if err != nil {
		return serverFacts{}, err
	}
	defer conn.Close(context.Background())
	var f serverFacts
	err = conn.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync'),
		current_setting('synchronous_commit'), current_setting('wal_level'), current_setting('shared_buffers'),
		coalesce((SELECT extversion FROM pg_extension WHERE extname = 'citus'), ''),
		coalesce(current_setting('citus.shard_count', true), ''),
		coalesce(current_setting('citus.multi_shard_modify_mode', true), ''),
		coalesce(current_setting('citus.enable_local_execution', true), '')`).Scan(
		&f.version, &f.fsync, &f.syncCommit, &f.walLevel, &f.sharedBuffers,
		&f.citusVersion, &f.shardCount, &f.multiShardMode, &f.localExec)
	if err != nil {
		return f, fmt.Errorf("settings of %s: %w", server.Dir, err)
	}
	switch {
	case f.citusVersion == "":
		f.role = "server"
	case i == 0:
		f.role = "coordinator"
	default:
		f.role = fmt.Sprintf("worker %d", i)
	}
	return f, nil
}
