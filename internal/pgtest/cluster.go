package pgtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgcluster"
)

// StartCluster starts a cluster of the test's own from the local server
// binaries, for tests that stop, restart or replicate a server, which they
// cannot do to a shared one; it runs even when DATABASE_URL is set. init
// fills the cluster (Init or InitStandby); the cluster is stopped and
// removed when tb ends.
func StartCluster(tb testing.TB, init func(context.Context, *pgcluster.Cluster) error) *pgcluster.Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, release, err := startOwnCluster(ctx, &started, init)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() { _ = release() })
	return c
}

// startOwnCluster makes a folder, fills a cluster there with init, starts
// it and adds it to reg. release stops it and removes its folder.
func startOwnCluster(ctx context.Context, reg *registry, init func(context.Context, *pgcluster.Cluster) error) (
	_ *pgcluster.Cluster, release func() error, _ error) {
	// Not tb.TempDir: as root the server runs as postgres, which must be able
	// to enter every parent of the folder.
	dir, err := mkdirOwned("inkwell-cluster-test-")
	if err != nil {
		return nil, nil, err
	}
	c, err := pgcluster.New(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	release = reg.add("the cluster in "+dir, func(ctx context.Context) error {
		err := c.Stop(ctx)
		os.RemoveAll(dir)
		return err
	})
	if err := init(ctx, c); err != nil {
		_ = release()
		return nil, nil, err
	}
	if err := c.Start(ctx); err != nil {
		_ = release()
		return nil, nil, err
	}
	return c, release, nil
}

// Throwaway is an init for StartCluster: a new cluster, fsync off.
func Throwaway(ctx context.Context, c *pgcluster.Cluster) error {
	return c.Init(ctx, pgcluster.Options{Throwaway: true})
}

// Durable is an init for StartCluster: a new cluster that keeps every
// acknowledged commit through a crash, for tests that crash it.
func Durable(ctx context.Context, c *pgcluster.Cluster) error {
	return c.Init(ctx, pgcluster.Options{})
}

// CreateDatabase creates a migrated database named name on the cluster and
// returns its URL (as the superuser).
func CreateDatabase(tb testing.TB, c *pgcluster.Cluster, name string) string {
	tb.Helper()
	ctx := context.Background()
	admin, err := c.URL("postgres")
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	url, err := c.URL(name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	if err := migrateURL(ctx, url); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return url
}

// migrateURL applies the migrations to the database at url.
func migrateURL(ctx context.Context, url string) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = migrate.UpPool(ctx, pool)
	return err
}

// StartCitus starts a Citus cluster of the test's own (a coordinator and
// workers with opts, such as Logical for online shard moves, or durable
// settings for a test that crashes a node and counts on every acknowledged
// commit), for tests that add, crash or restart its nodes, which they
// cannot do to the shared one. Its "postgres" database is migrated; the
// cluster is stopped and removed when tb ends (or by Main's watchdog).
func StartCitus(tb testing.TB, workers int, opts pgcluster.Options) *pgcluster.Citus {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir, err := mkdirOwned("inkwell-citus-test-")
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	var c *pgcluster.Citus
	release := started.add("the Citus cluster in "+dir, func(ctx context.Context) error {
		var err error
		if c != nil {
			err = c.Stop(ctx)
		}
		os.RemoveAll(dir)
		return err
	})
	tb.Cleanup(func() { _ = release() })
	if c, err = pgcluster.StartCitus(ctx, dir, workers, opts); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	url, err := c.URL("postgres")
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	if err := migrateURL(ctx, url); err != nil {
		tb.Fatalf("pgtest: migrate the Citus cluster: %v", err)
	}
	return c
}
