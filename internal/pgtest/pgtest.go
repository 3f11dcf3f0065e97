// Package pgtest gives tests a real PostgreSQL: the server at DATABASE_URL
// when it is set, or else a throwaway cluster started from the installed
// server binaries. Each test gets its own database, cloned from a migrated
// template (pgtestdb), so tests run in parallel and never see each other's rows.
//
// Tests never skip for want of a server: when none can be had, Main fails.
//
// With INKWELL_TEST_PGBOUNCER=1, the pools and URLs tests get connect through
// a PgBouncer in transaction pooling mode that Main starts in front of the
// server (databases are still made and migrated directly, as a deployment
// migrates past its pooler).
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver pgtestdb connects with
	"github.com/peterldowns/pgtestdb"
	"github.com/peterldowns/pgtestdb/migrators/common"

	"github.com/inkwell-dev/inkwell/db"
	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgcluster"
)

// PgBouncerEnv is the environment variable that puts PgBouncer between the
// tests and the server.
const PgBouncerEnv = "INKWELL_TEST_PGBOUNCER"

var (
	server   pgtestdb.Config      // set by Main
	bouncer  *pgcluster.PgBouncer // set by Main when PgBouncerEnv is set
	cleanups []func()             // run by Main after the tests, for databases made outside a test
	mu       sync.Mutex
)

// Main runs a package's tests against a server (see the package doc) and
// exits. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// testing parses its flags in m.Run; the watchdog needs -test.timeout now.
	if !flag.Parsed() {
		flag.Parse()
	}
	defer armWatchdog()()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	sweep(ctx, os.TempDir(), time.Now(), os.Stderr)
	cancel()

	rawURL := os.Getenv("DATABASE_URL")
	if Citus() {
		// The tests need the workers too (the extension is made on each), so
		// they always start their own cluster.
		var err error
		if citus, err = startCitus(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %s is set, and starting a Citus cluster failed: %v\n", CitusEnv, err)
			return 1
		}
		defer stopping(started.add("the Citus cluster in "+filepath.Dir(citus.Coordinator.Dir), func(ctx context.Context) error {
			err := citus.Stop(ctx)
			os.RemoveAll(filepath.Dir(citus.Coordinator.Dir))
			return err
		}))
		if rawURL, err = citus.URL("postgres"); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			return 1
		}
	} else if rawURL == "" {
		cluster, err := startThrowaway()
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: no DATABASE_URL, and starting a throwaway PostgreSQL failed: %v\n", err)
			return 1
		}
		defer stopping(started.add("the throwaway cluster in "+cluster.Dir, func(ctx context.Context) error {
			err := cluster.Stop(ctx)
			os.RemoveAll(cluster.Dir)
			return err
		}))
		if rawURL, err = cluster.URL("postgres"); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			return 1
		}
	}
	conf, err := configFromURL(rawURL)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: DATABASE_URL: %v\n", err)
		return 1
	}
	server = conf
	if os.Getenv(PgBouncerEnv) != "" {
		if err := startBouncer(conf); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %s is set, and starting PgBouncer failed: %v\n", PgBouncerEnv, err)
			return 1
		}
		defer stopping(started.add("PgBouncer in "+bouncer.Dir, func(context.Context) error {
			bouncer.Stop()
			return os.RemoveAll(bouncer.Dir)
		}))
	}
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	for _, f := range cleanups {
		f()
	}
	if citus != nil {
		if err := databases.wait(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: citus: a test's database could not be emptied or dropped: %v\n", err)
			return max(code, 1)
		}
	}
	return code
}

// stopping runs release (from started.add) and reports its error, for a
// defer.
func stopping(release func() error) {
	if err := release(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
	}
}

func startThrowaway() (*pgcluster.Cluster, error) {
	dir, err := mkdirOwned("inkwell-pgtest-")
	if err != nil {
		return nil, err
	}
	c, err := pgcluster.New(dir)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err = c.Init(ctx, pgcluster.Options{Throwaway: true}); err == nil {
			err = c.Start(ctx)
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// startBouncer starts PgBouncer in front of conf's server and sets bouncer.
func startBouncer(conf pgtestdb.Config) error {
	dir, err := mkdirOwned("inkwell-pgbouncer-")
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(conf.Port)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	role := pgtestdb.DefaultRole()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bouncer, err = pgcluster.StartPgBouncer(ctx, dir, conf.Host, port,
		map[string]string{conf.User: conf.Password, role.Username: role.Password})
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	return nil
}

// configFromURL turns a postgres:// URL into pgtestdb's settings. The role
// in it must be able to create roles and databases.
func configFromURL(raw string) (pgtestdb.Config, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return pgtestdb.Config{}, fmt.Errorf("want a postgres:// URL")
	}
	password, _ := u.User.Password()
	conf := pgtestdb.Config{
		DriverName:                "pgx",
		Host:                      u.Hostname(),
		Port:                      u.Port(),
		User:                      u.User.Username(),
		Password:                  password,
		Database:                  u.Path[min(1, len(u.Path)):],
		Options:                   u.RawQuery,
		ForceTerminateConnections: true,
	}
	if conf.Host == "" {
		conf.Host = "localhost"
	}
	if conf.Port == "" {
		conf.Port = "5432"
	}
	if conf.Database == "" {
		conf.Database = "postgres"
	}
	return conf, nil
}

// migrator builds pgtestdb's template from goose migrations: the embedded
// ones, or those of a test.
type migrator struct{ fsys fs.FS }

func (m migrator) Hash() (string, error) {
	return common.HashDirs(m.fsys, "*.sql", ".")
}

func (m migrator) Migrate(ctx context.Context, conn *sql.DB, _ pgtestdb.Config) error {
	_, err := migrate.UpFS(ctx, conn, m.fsys)
	return err
}

// URL returns the URL of a new, migrated database, dropped when tb ends.
func URL(tb testing.TB) string {
	tb.Helper()
	return urlFor(tb, db.Migrations())
}

func urlFor(tb testing.TB, fsys fs.FS) string {
	tb.Helper()
	if server.Host == "" {
		tb.Fatalf("pgtest: call pgtest.Main from the package's TestMain")
	}
	if citus != nil {
		return viaBouncer(testConfig(citusDatabase(tb, fsys)))
	}
	conf := pgtestdb.Custom(tb, server, migrator{fsys})
	tb.Cleanup(func() { dropDatabase(tb, conf.Database) })
	return viaBouncer(*conf)
}

// dropDatabase drops a passed test's database before pgtestdb would (its
// cleanup runs after this one; its DROP IF EXISTS then finds nothing). Its
// single DROP fails a test whose sessions take longer than the server's 5 s
// to exit once terminated (a loaded machine; PgBouncer's server
// connections): here DROP ... WITH (FORCE) terminates them and is tried
// again until dropWait. A failed test's database is kept, as pgtestdb keeps it.
func dropDatabase(tb testing.TB, name string) {
	if tb.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), dropWait)
	defer cancel()
	drop := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"
	var err error
	for ctx.Err() == nil {
		var conn *pgx.Conn
		if conn, err = pgx.Connect(ctx, server.URL()); err == nil {
			_, err = conn.Exec(ctx, drop)
			conn.Close(context.Background())
		}
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != pgerrcode.ObjectInUse {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		tb.Errorf("pgtest: drop the test's database %s: %v", name, err)
	}
}

// dropWait bounds dropDatabase.
const dropWait = 30 * time.Second

// viaBouncer returns the URL of conf's database, through PgBouncer when Main
// started one, in the query mode a transaction pooler needs.
func viaBouncer(conf pgtestdb.Config) string {
	if bouncer != nil {
		conf.Host, conf.Port = "127.0.0.1", strconv.Itoa(bouncer.Port)
		conf.Options += "&default_query_exec_mode=cache_describe"
	}
	return conf.URL()
}

// NewPool returns a pool on a new, migrated database (see URL), closed when
// tb ends. configure, if given, adjusts the pool's settings first.
func NewPool(tb testing.TB, configure ...func(*pgxpool.Config)) *pgxpool.Pool {
	tb.Helper()
	return PoolFor(tb, URL(tb), configure...)
}

// PoolFor returns a pool on url (a database of the test's own cluster, say),
// closed when tb ends as NewPool's are: a connection still held then fails
// the test instead of hanging it.
func PoolFor(tb testing.TB, url string, configure ...func(*pgxpool.Config)) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	for _, f := range configure {
		f(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() { closePool(tb, pool, closeWait) })
	return pool
}

// closeWait bounds how long closing a test's pool waits for its connections
// to come back.
const closeWait = 10 * time.Second

// closePool closes pool, which waits for every acquired connection. A test
// that failed with rows still open or a transaction not ended holds one
// forever: rather than hang the package until go test's timeout, the test
// fails saying so, and the pool is left to the process's end.
func closePool(tb testing.TB, pool *pgxpool.Pool, wait time.Duration) {
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		pool.Close()
	}()
	select {
	case <-closed:
	case <-time.After(wait):
		tb.Errorf("pgtest: %d connection(s) still acquired %v after the test: "+
			"close every rows (defer rows.Close()) and end every transaction, even when the test fails",
			pool.Stat().AcquiredConns(), wait)
	}
}

// ExampleURL returns a new, migrated database for a testable example, which
// has no testing.TB of its own. Main drops it after the tests.
func ExampleURL() string {
	if citus != nil {
		return viaBouncer(testConfig(citusDatabase(exampleTB{}, db.Migrations())))
	}
	return viaBouncer(*pgtestdb.Custom(exampleTB{}, server, migrator{db.Migrations()}))
}

// exampleTB is just enough of testing.TB for pgtestdb outside a test.
type exampleTB struct{}

func (exampleTB) Cleanup(f func()) {
	mu.Lock()
	defer mu.Unlock()
	cleanups = append(cleanups, f)
}
func (exampleTB) Failed() bool                   { return false }
func (exampleTB) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
func (exampleTB) Helper()                        {}
func (exampleTB) Logf(string, ...any)            {}
