package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ErrNoCitus means the Citus extension is not installed in the PostgreSQL
// whose server binaries we found.
var ErrNoCitus = errors.New("the Citus extension is not installed in this PostgreSQL: " +
	"install Citus's package for it (Debian/Ubuntu: postgresql-15-citus-13.2 from Citus's repository, " +
	"packages.citusdata.com), run Citus's container image (citusdata/citus) and set DATABASE_URL to its coordinator, " +
	"or, in this project's CI, ../shared/citus/install")

// CitusWorkers is how many workers StartCitus starts when asked for none.
const CitusWorkers = 2

// Citus is a Citus cluster on this machine: a coordinator and its workers,
// each an ordinary local cluster on its own port with Citus preloaded.
// Applications connect to the coordinator only.
type Citus struct {
	Coordinator *Cluster
	Workers     []*Cluster
	dir         string
	opts        Options
}

// CitusInstalled returns nil when the Citus extension is installed in the
// PostgreSQL whose server binaries FindBinDir finds, and otherwise an error
// wrapping ErrNoCitus (or ErrNoBinaries) that says what to install.
func CitusInstalled() error {
	bin, err := FindBinDir()
	if err != nil {
		return err
	}
	return citusInstalledIn(bin)
}

// citusInstalledIn looks for the extension's control file and library where
// the server of bin loads them (pg_config --sharedir/--pkglibdir when it
// answers, else the layout beside bin).
func citusInstalledIn(bin string) error {
	share, lib := filepath.Join(filepath.Dir(bin), "..", "..", "..", "share", "postgresql", filepath.Base(filepath.Dir(bin))), filepath.Join(filepath.Dir(bin), "lib")
	if out, err := runOutput(filepath.Join(bin, "pg_config"), "--sharedir"); err == nil {
		share = out
	}
	if out, err := runOutput(filepath.Join(bin, "pg_config"), "--pkglibdir"); err == nil {
		lib = out
	}
	control := filepath.Join(share, "extension", "citus.control")
	library := filepath.Join(lib, "citus.so")
	for _, p := range []string{control, library} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w (no %s)", ErrNoCitus, p)
		}
	}
	return nil
}

// StartCitus starts a Citus cluster under dir: a coordinator in dir/coordinator
// and workers (CitusWorkers when 0) in dir/worker-N, each initialised with
// opts (Port is ignored: each picks a free one) and Citus preloaded. It
// prepares the "postgres" database as CreateCitusDatabase does. On error,
// the servers it started are stopped; dir is the caller's to remove.
// Errors wrap ErrNoCitus when the extension is not installed.
func StartCitus(ctx context.Context, dir string, workers int, opts Options) (_ *Citus, err error) {
	if workers <= 0 {
		workers = CitusWorkers
	}
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	if err := citusInstalledIn(bin); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	c := &Citus{dir: dir, opts: opts}
	defer func() {
		if err != nil {
			_ = c.Stop(context.Background())
		}
	}()
	for i := range workers + 1 {
		name := "coordinator"
		if i > 0 {
			name = "worker-" + strconv.Itoa(i)
		}
		node, err := c.startNode(ctx, name)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			c.Coordinator = node
		} else {
			c.Workers = append(c.Workers, node)
		}
	}
	if err := c.prepare(ctx, "postgres"); err != nil {
		return nil, err
	}
	return c, nil
}

// startNode starts a node of c in c.dir/name, with c's options and Citus preloaded.
func (c *Citus) startNode(ctx context.Context, name string) (*Cluster, error) {
	node, err := New(filepath.Join(c.dir, name))
	if err != nil {
		return nil, err
	}
	if node.runAs != nil {
		// The nodes' folders are inside dir, which the server's user must enter.
		if err := os.Chmod(c.dir, 0o711); err != nil {
			return nil, err
		}
	}
	opts := c.opts
	opts.Port = 0
	opts.extra = citusSettings
	if err := node.Init(ctx, opts); err != nil {
		return nil, err
	}
	if err := node.Start(ctx); err != nil {
		return node, err // Stop's to stop, if it started after all
	}
	return node, nil
}

// EnableLogical sets every node up for online shard moves, as
// Options.Logical would have (ALTER SYSTEM, then a fast restart of each
// node), and makes the workers AddWorker starts logical too: for a cluster
// loaded with wal_level minimal, which writes no WAL for the load.
func (c *Citus) EnableLogical(ctx context.Context) error {
	c.opts.Logical = true
	for _, node := range append([]*Cluster{c.Coordinator}, c.Workers...) {
		var statements []string
		for _, s := range logicalSettings {
			name, value, _ := strings.Cut(s, " = ")
			statements = append(statements, fmt.Sprintf("ALTER SYSTEM SET %s = %s", name, value))
		}
		if err := c.exec(ctx, node, "postgres", statements...); err != nil {
			return err
		}
		if err := node.Restart(ctx, "fast"); err != nil {
			return err
		}
	}
	return nil
}

// AddWorker starts one more worker, as StartCitus starts them, and adds it
// to the cluster of each of databases (Citus keeps its node list per
// database): the database and the extension made on it, then
// citus_add_node on the coordinator, which copies Citus's metadata and the
// reference tables there. It holds no shard until a rebalance moves some
// (citus_rebalance_start). The worker is in c.Workers once started, so Stop
// stops it even when adding it failed.
func (c *Citus) AddWorker(ctx context.Context, databases ...string) (*Cluster, error) {
	node, err := c.startNode(ctx, "worker-"+strconv.Itoa(len(c.Workers)+1))
	if node != nil {
		c.Workers = append(c.Workers, node)
	}
	if err != nil {
		return nil, err
	}
	port, err := node.Port()
	if err != nil {
		return nil, err
	}
	for _, db := range databases {
		if db != "postgres" {
			if err := c.exec(ctx, node, "postgres", "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
				return nil, err
			}
		}
		if err := c.exec(ctx, node, db, "CREATE EXTENSION citus"); err != nil {
			return nil, err
		}
		if err := c.exec(ctx, c.Coordinator, db, fmt.Sprintf("SELECT citus_add_node('127.0.0.1', %d)", port)); err != nil {
			return nil, err
		}
	}
	return node, nil
}

// citusSettings are the postgresql.conf lines of every node. Databases made
// on the coordinator reach the workers (enable_create_database_propagation),
// so tests can make one per test. max_prepared_transactions lets multi-shard
// transactions commit with two-phase commit. The nodes talk over loopback
// without TLS: libpq would otherwise look for client certificates in the
// server's inherited HOME (root's, when we are root, which it cannot read).
var citusSettings = []string{
	"citus.node_conninfo = 'sslmode=disable'",
	"shared_preload_libraries = 'citus'",
	"citus.enable_create_database_propagation = on",
	"max_prepared_transactions = 200",
	"citus.shard_count = 8",
	// Each coordinator session may hold a connection to every worker, and
	// tests run many: room for them (overrides configure's 200).
	"max_connections = 500",
}

// Stop stops every node that is running; errors are joined.
func (c *Citus) Stop(ctx context.Context) error {
	var errs []error
	for _, node := range append([]*Cluster{c.Coordinator}, c.Workers...) {
		if node != nil && node.Running(ctx) {
			errs = append(errs, node.Stop(ctx))
		}
	}
	return errors.Join(errs...)
}

// URL returns the connection URL of database on the coordinator.
func (c *Citus) URL(database string) (string, error) { return c.Coordinator.URL(database) }

// CreateDatabase creates database on the coordinator (Citus propagates it to
// the workers) and prepares it as a Citus database: the citus extension on
// every node, the coordinator and workers registered. Extensions are a
// superuser's to create, so migrations never create this one.
func (c *Citus) CreateDatabase(ctx context.Context, database string) error {
	if err := c.exec(ctx, c.Coordinator, "postgres", "CREATE DATABASE "+pgx.Identifier{database}.Sanitize()); err != nil {
		return err
	}
	return c.prepare(ctx, database)
}

// prepare creates the extension in database on every node and registers the
// nodes in the coordinator's copy of it (Citus keeps its node list per
// database).
func (c *Citus) prepare(ctx context.Context, database string) error {
	for _, w := range c.Workers {
		if err := c.exec(ctx, w, database, "CREATE EXTENSION IF NOT EXISTS citus"); err != nil {
			return err
		}
	}
	coord, err := c.Coordinator.Port()
	if err != nil {
		return err
	}
	statements := []string{
		"CREATE EXTENSION IF NOT EXISTS citus",
		fmt.Sprintf("SELECT citus_set_coordinator_host('127.0.0.1', %d)", coord),
	}
	for _, w := range c.Workers {
		port, err := w.Port()
		if err != nil {
			return err
		}
		statements = append(statements, fmt.Sprintf("SELECT citus_add_node('127.0.0.1', %d)", port))
	}
	return c.exec(ctx, c.Coordinator, database, statements...)
}

// exec runs statements, one by one, on node's database as the superuser.
func (c *Citus) exec(ctx context.Context, node *Cluster, database string, statements ...string) error {
	if err := node.Exec(ctx, database, statements...); err != nil {
		return fmt.Errorf("citus: %w", err)
	}
	return nil
}

func runOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return strings.TrimSpace(string(out)), err
}
