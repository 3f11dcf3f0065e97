// Package pgcluster runs a local PostgreSQL cluster from the server binaries
// installed on the machine: a persistent one for development (make db) and
// throwaway ones for tests.
//
// PostgreSQL refuses to run as root. When the caller is root, the cluster's
// files belong to the unprivileged "postgres" system user and initdb, pg_ctl
// and the server run as that user.
package pgcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries means initdb and pg_ctl were found nowhere we looked.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: " +
	"install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) " +
	"or set DATABASE_URL to a server you already run")

// ErrNotRunning means the cluster has no running server.
var ErrNotRunning = errors.New("no PostgreSQL server is running for this cluster")

// Superuser is the role initdb creates; local connections use trust auth.
const Superuser = "postgres"

// Options shape a new cluster.
type Options struct {
	// Throwaway trades durability for speed (fsync off): for tests only.
	Throwaway bool
	// Standalone is for a cluster that will have no replicas and no WAL
	// archive (a development cluster): wal_level minimal, so rows copied into
	// a table created or truncated in the same transaction, and the indexes
	// built there, are written once to their files (synced at commit) and
	// not also to the WAL. The manual's "Populating a Database" advice for
	// bulk loads; commits stay as durable as with any wal_level.
	Standalone bool
	// Logical is for a cluster that streams changes by logical replication,
	// as the source of a Citus shard move does (citus_rebalance_start moves
	// shards online that way): wal_level logical, with room for the move's
	// replication slots and senders. It overrides Standalone's wal_level.
	Logical bool
	// Port to listen on at 127.0.0.1; 0 picks a free one.
	Port int
	// extra are more postgresql.conf lines (StartCitus's).
	extra []string
}

// Cluster is a data directory under Dir and the server that runs on it.
// Dir also holds the server log and the Unix socket.
type Cluster struct {
	Dir    string
	binDir string
	runAs  *syscall.Credential // nil unless we are root
}

// New describes the cluster kept under dir. It does not touch the disk.
func New(dir string) (*Cluster, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: abs, binDir: bin}
	if os.Geteuid() == 0 {
		if c.runAs, err = postgresUser(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.Dir, "data") }
func (c *Cluster) logFile() string { return filepath.Join(c.Dir, "postgres.log") }

// Initialized reports whether initdb has already run in Dir.
func (c *Cluster) Initialized() bool {
	_, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION"))
	return err == nil
}

// Init runs initdb and writes the cluster's settings. It fails if Dir already
// holds a cluster.
func (c *Cluster) Init(ctx context.Context, opts Options) error {
	return c.create(ctx, opts, "initdb", "--pgdata", c.dataDir(), "--username", Superuser,
		"--auth", "trust", "--encoding", "UTF8", "--locale", "C", "--no-sync")
}

// InitStandby makes the cluster a hot standby of the server running on
// primaryPort at 127.0.0.1, streaming its WAL (pg_basebackup -R). The primary
// must let the superuser connect for replication, as Init's clusters do.
func (c *Cluster) InitStandby(ctx context.Context, primaryPort int, opts Options) error {
	return c.create(ctx, opts, "pg_basebackup", "--pgdata", c.dataDir(), "--host", "127.0.0.1",
		"--port", strconv.Itoa(primaryPort), "--username", Superuser, "--write-recovery-conf",
		"--wal-method", "stream", "--checkpoint", "fast", "--no-sync")
}

// create makes Dir, hands it to the server's user, runs the program that
// fills the data directory, and writes the settings.
func (c *Cluster) create(ctx context.Context, opts Options, program string, args ...string) error {
	if c.Initialized() {
		return fmt.Errorf("init cluster: %s already holds one", c.Dir)
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("init cluster: %w", err)
	}
	if err := c.giveToServerUser(c.Dir); err != nil {
		return err
	}
	port := opts.Port
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return fmt.Errorf("init cluster: pick a port: %w", err)
		}
	}
	if _, err := c.run(ctx, program, args...); err != nil {
		return fmt.Errorf("init cluster in %s: %w", c.Dir, err)
	}
	return c.configure(port, opts)
}

// configure appends the cluster's own settings to postgresql.conf, where
// they override what initdb (or the primary's copy) wrote above them.
func (c *Cluster) configure(port int, opts Options) error {
	settings := []string{
		"listen_addresses = '127.0.0.1'",
		"port = " + strconv.Itoa(port),
		"unix_socket_directories = '" + c.Dir + "'",
		"max_connections = 200",
	}
	if opts.Throwaway {
		settings = append(settings, "fsync = off", "synchronous_commit = off", "full_page_writes = off")
	}
	if opts.Standalone {
		settings = append(settings, "wal_level = minimal", "max_wal_senders = 0")
	}
	if opts.Logical {
		settings = append(settings, logicalSettings...)
	}
	settings = append(settings, opts.extra...)
	conf := filepath.Join(c.dataDir(), "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("init cluster: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n# inkwell\n%s\n", strings.Join(settings, "\n"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// logicalSettings are Options.Logical's lines: a shard move takes a slot
// and a sender on its source per shard group it moves at once, and workers
// for the subscriptions on its target.
var logicalSettings = []string{
	"wal_level = logical", "max_wal_senders = 20", "max_replication_slots = 20",
	"max_logical_replication_workers = 8",
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start(ctx context.Context) error {
	if _, err := c.run(ctx, "pg_ctl", "start", "--pgdata", c.dataDir(), "--log", c.logFile(),
		"--wait", "--timeout", "60"); err != nil {
		return fmt.Errorf("start cluster in %s (log: %s): %w", c.Dir, c.logFile(), err)
	}
	return nil
}

// Restart restarts the server: mode "fast" ends sessions cleanly,
// "immediate" kills the server as a crash would (it recovers from WAL).
func (c *Cluster) Restart(ctx context.Context, mode string) error {
	if _, err := c.run(ctx, "pg_ctl", "restart", "--pgdata", c.dataDir(), "--mode", mode,
		"--log", c.logFile(), "--wait", "--timeout", "60"); err != nil {
		return fmt.Errorf("restart cluster in %s: %w", c.Dir, err)
	}
	return nil
}

// Stop stops the server (fast shutdown: sessions are ended, not waited for).
func (c *Cluster) Stop(ctx context.Context) error {
	if _, err := c.run(ctx, "pg_ctl", "stop", "--pgdata", c.dataDir(), "--mode", "fast", "--wait"); err != nil {
		return fmt.Errorf("stop cluster in %s: %w", c.Dir, err)
	}
	return nil
}

// Kill stops the server at once (immediate mode: the server exits as in a
// crash and would recover from WAL on its next start), for a server nobody
// will use again, such as one a dead test run left behind.
func (c *Cluster) Kill(ctx context.Context) error {
	if _, err := c.run(ctx, "pg_ctl", "stop", "--pgdata", c.dataDir(), "--mode", "immediate", "--wait"); err != nil {
		return fmt.Errorf("kill cluster in %s: %w", c.Dir, err)
	}
	return nil
}

// Crash kills the server as a power cut would end it: SIGKILL to the
// postmaster and every process of its group (its backends, which would
// otherwise run on until they notice it gone), then waits until they are all
// gone. The next Start recovers from the WAL. pg_ctl starts the postmaster
// in a session of its own, so its group is its children and nothing else.
func (c *Cluster) Crash(ctx context.Context) error {
	pid, err := c.postmasterPID()
	if err != nil {
		return err
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("crash cluster in %s: %w", c.Dir, err)
	}
	for syscall.Kill(-pid, 0) == nil {
		select {
		case <-ctx.Done():
			return fmt.Errorf("crash cluster in %s: processes left: %w", c.Dir, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// Running reports whether a server runs on the cluster (pg_ctl status).
func (c *Cluster) Running(ctx context.Context) bool {
	if !c.Initialized() {
		return false
	}
	_, err := c.run(ctx, "pg_ctl", "status", "--pgdata", c.dataDir())
	return err == nil
}

// Port returns the port of the running server, read from postmaster.pid.
func (c *Cluster) Port() (int, error) { return c.pidFileLine(4) }

// postmasterPID returns the pid of the running server's postmaster.
func (c *Cluster) postmasterPID() (int, error) { return c.pidFileLine(1) }

// pidFileLine returns line n of postmaster.pid as a number (PostgreSQL's
// pidfile.h: 1 the postmaster's pid, 4 the port).
func (c *Cluster) pidFileLine(n int) (int, error) {
	f, err := os.Open(filepath.Join(c.dataDir(), "postmaster.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, ErrNotRunning
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for i := 1; s.Scan(); i++ {
		if i == n {
			return strconv.Atoi(strings.TrimSpace(s.Text()))
		}
	}
	return 0, fmt.Errorf("read line %d of %s: %w", n, f.Name(), ErrNotRunning)
}

// URL returns the connection URL of database on the running server.
func (c *Cluster) URL(database string) (string, error) {
	port, err := c.Port()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, port, database), nil
}

// Exec runs statements, one by one, on database of the running server as
// the superuser. Its errors say which statement failed, on which database
// and cluster.
func (c *Cluster) Exec(ctx context.Context, database string, statements ...string) error {
	url, err := c.URL(database)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connect to %s in %s: %w", database, c.Dir, err)
	}
	defer conn.Close(context.Background())
	for _, s := range statements {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s on %s in %s: %w", s, database, c.Dir, err)
		}
	}
	return nil
}

// run runs one of the server binaries, as the postgres user when we are root,
// and returns its output, which is also in the error when it fails.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Dir = c.Dir
	if c.runAs != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.runAs}
	}
	// pg_ctl's server inherits these: keep it off our stdin and out of our output.
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// giveToServerUser hands dir to the postgres user when we are root, after
// checking that user can reach it at all.
func (c *Cluster) giveToServerUser(dir string) error {
	if c.runAs == nil {
		return nil
	}
	for parent := filepath.Dir(dir); ; parent = filepath.Dir(parent) {
		info, err := os.Stat(parent)
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("the postgres user cannot enter %s (mode %v), so it cannot run a cluster in %s: "+
				"use a checkout under a directory others can enter, or set DATABASE_URL", parent, info.Mode().Perm(), dir)
		}
		if parent == filepath.Dir(parent) {
			break
		}
	}
	if err := os.Chown(dir, int(c.runAs.Uid), int(c.runAs.Gid)); err != nil {
		return fmt.Errorf("give %s to the postgres user: %w", dir, err)
	}
	return nil
}

// postgresUser returns the credentials of the "postgres" system user.
func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to: "+
			"need the unprivileged postgres system user (made by the postgresql package): %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// FindBinDir returns the directory holding initdb and pg_ctl (and the other
// server programs, such as pg_basebackup): on PATH, from
// pg_config --bindir, Debian's /usr/lib/postgresql/N/bin (newest first), or
// Homebrew's locations.
func FindBinDir() (string, error) {
	var candidates []string
	if p, err := exec.LookPath("initdb"); err == nil {
		// A link on PATH (as some images have) stands for the whole bin folder.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		candidates = append(candidates, filepath.Dir(p))
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	candidates = append(candidates, newestFirst("/usr/lib/postgresql/*/bin")...)
	if runtime.GOOS == "darwin" {
		for _, prefix := range []string{"/opt/homebrew", "/usr/local"} {
			candidates = append(candidates, newestFirst(prefix+"/opt/postgresql@*/bin")...)
			candidates = append(candidates, prefix+"/opt/postgresql/bin", prefix+"/bin")
		}
	}
	for _, dir := range candidates {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "pg_ctl")) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

// newestFirst globs pattern and orders the matches by the version number in
// them, highest first (so postgresql/16 comes before postgresql/9.6).
func newestFirst(pattern string) []string {
	matches, _ := filepath.Glob(pattern)
	version := func(p string) float64 {
		v := strings.TrimPrefix(filepath.Base(filepath.Dir(p)), "postgresql@")
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	slices.SortFunc(matches, func(a, b string) int {
		switch va, vb := version(a), version(b); {
		case va > vb:
			return -1
		case va < vb:
			return 1
		}
		return 0
	})
	return matches
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir() && info.Mode()&0o111 != 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
