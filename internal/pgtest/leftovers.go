package pgtest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/inkwell-dev/inkwell/internal/pgcluster"
)

// A package's tests must not leave servers behind, even when they fail,
// hang or are killed. Three things see to it:
//   - every server pgtest starts is in a registry (started), so the watchdog
//     can stop them all;
//   - the watchdog stops them, and the process, a margin before go test's own
//     timeout, whose panic would leave them running;
//   - every folder pgtest makes for a server names its owner (the test
//     process), so the next run's sweep stops and removes what a killed run
//     left behind.

// started holds every server this process started and has not stopped yet.
var started registry

// registry is a set of running servers, each with the function that stops it
// and removes its folder.
type registry struct {
	mu    sync.Mutex
	next  int
	stops map[int]running
}

type running struct {
	what string
	stop func(context.Context) error
}

// add records a running server, what describing it. The function returned
// stops it (with a minute to do so) and forgets it; it does nothing when the
// watchdog already stopped the server.
func (r *registry) add(what string, stop func(context.Context) error) (release func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stops == nil {
		r.stops = map[int]running{}
	}
	id := r.next
	r.next++
	r.stops[id] = running{what, stop}
	return func() error {
		r.mu.Lock()
		s, ok := r.stops[id]
		delete(r.stops, id)
		r.mu.Unlock()
		if !ok {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return s.stop(ctx)
	}
}

// stopAll stops every server in r, saying so on w.
func (r *registry) stopAll(ctx context.Context, w io.Writer) {
	r.mu.Lock()
	servers := r.stops
	r.stops = nil
	r.mu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(servers)) {
		s := servers[id]
		if err := s.stop(ctx); err != nil {
			fmt.Fprintf(w, "pgtest: stop %s: %v\n", s.what, err)
		} else {
			fmt.Fprintf(w, "pgtest: stopped %s\n", s.what)
		}
	}
}

// expire is the watchdog's action: it says on w that the package ran past
// its deadline, with every goroutine's stack, stops every server in r
// (within grace) and calls exit(1).
func (r *registry) expire(w io.Writer, deadline, grace time.Duration, exit func(int)) {
	fmt.Fprintf(w, "pgtest: the package ran past its own deadline (%v, a margin before go test's -timeout): "+
		"stopping the servers it started and exiting; every goroutine:\n\n%s\n", deadline, stacks())
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	r.stopAll(ctx, w)
	exit(1)
}

// stacks returns every goroutine's stack.
func stacks() []byte {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// goTestTimeout returns go test's -timeout (0 for none). testing's flags
// must be parsed.
func goTestTimeout() time.Duration {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return 0
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if d, ok := g.Get().(time.Duration); ok {
			return d
		}
	}
	return 0
}

// deadline returns how long a package may run under go test's timeout: a
// margin before it (a tenth of it, at least 30 s, at most half), so the
// watchdog has time to stop the servers before go test panics.
func deadline(timeout time.Duration) time.Duration {
	margin := min(max(30*time.Second, timeout/10), timeout/2)
	return timeout - margin
}

// armWatchdog starts the watchdog when go test has a timeout, and returns
// the function that disarms it.
func armWatchdog() (disarm func()) {
	timeout := goTestTimeout()
	if timeout <= 0 {
		return func() {}
	}
	d := deadline(timeout)
	t := time.AfterFunc(d, func() { started.expire(os.Stderr, d, (timeout-d)/2, os.Exit) })
	return func() { t.Stop() }
}

// ownerFile, in each folder pgtest makes for a server, holds the test
// process's pid and start time.
const ownerFile = "inkwell-owner"

// leftoverPrefixes name the folders pgtest makes in os.TempDir for servers.
var leftoverPrefixes = []string{"inkwell-pgtest-", "inkwell-cluster-test-", "inkwell-citus-", "inkwell-pgbouncer-"}

// unownedAge is how old a folder without an owner file must be before the
// sweep takes it for a leftover: a young one may belong to a package that is
// starting right now (go test runs packages in parallel), or to an older
// pgtest that wrote no owner file.
const unownedAge = time.Hour

// mkdirOwned makes a folder in os.TempDir (pattern as os.MkdirTemp) and
// writes this process's owner file in it.
func mkdirOwned(pattern string) (string, error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", err
	}
	start, _ := processStart(os.Getpid())
	if err := writeOwner(dir, os.Getpid(), start); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func writeOwner(dir string, pid int, start string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), fmt.Appendf(nil, "%d %s\n", pid, start), 0o644)
}

// processStart returns the start time of process pid, in clock ticks after
// boot (field 22 of /proc/<pid>/stat); false where there is no /proc.
func processStart(pid int) (string, bool) {
	start, _, ok := procStat(pid)
	return start, ok
}

// procStat returns the start time (field 22) and state (field 3, "Z" for a
// zombie: dead, not yet reaped) of process pid, from /proc/<pid>/stat.
func procStat(pid int) (start, state string, ok bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", "", false
	}
	// Field 2, the command, is in parentheses and may hold spaces: count
	// from the last ')', after which field 3 begins.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return "", "", false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return "", "", false
	}
	return fields[19], fields[0], true
}

// ownerGone reports whether the folder's owner file names a process that no
// longer runs (gone, or a zombie: killed, not yet reaped) or a reused pid
// (same pid, another start time). ok is false
// when the folder has no readable owner file.
func ownerGone(dir string) (gone, ok bool) {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return false, false
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return false, false
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil || pid <= 0 {
		return false, false
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true, true
	}
	if start, state, known := procStat(pid); known {
		if state == "Z" || state == "X" || (len(fields) > 1 && start != fields[1]) {
			return true, true
		}
	}
	return false, true
}

// sweep stops the servers in, and removes, the folders under root that
// pgtest made for a test run that is gone: their owner is dead, or they have
// no owner file and are older than unownedAge. It says on w what it cleaned.
func sweep(ctx context.Context, root string, now time.Time, w io.Writer) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !slices.ContainsFunc(leftoverPrefixes, func(p string) bool { return strings.HasPrefix(e.Name(), p) }) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		gone, owned := ownerGone(dir)
		if owned && !gone {
			continue
		}
		if !owned {
			info, err := e.Info()
			if err != nil || now.Sub(info.ModTime()) < unownedAge {
				continue
			}
		}
		stopped := stopLeftovers(ctx, dir, w)
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(w, "pgtest: remove %s, left by a test run that is gone: %v\n", dir, err)
			continue
		}
		fmt.Fprintf(w, "pgtest: removed %s, left by a test run that is gone%s\n", dir, stopped)
	}
}

// stopLeftovers stops the servers left running in dir: PostgreSQL in dir or
// in a folder of dir (a Citus node), PgBouncer by its pid file. It returns
// what it stopped, for the sweep's message.
func stopLeftovers(ctx context.Context, dir string, w io.Writer) string {
	var stopped []string
	pids, _ := filepath.Glob(filepath.Join(dir, "data", "postmaster.pid"))
	nodes, _ := filepath.Glob(filepath.Join(dir, "*", "data", "postmaster.pid"))
	for _, pid := range append(pids, nodes...) {
		if !postmasterOf(pid) {
			continue // a stale pid file: its pid may be someone else's now
		}
		c, err := pgcluster.New(filepath.Dir(filepath.Dir(pid)))
		if err == nil {
			err = c.Kill(ctx)
		}
		if err != nil {
			fmt.Fprintf(w, "pgtest: stop the server %s left: %v\n", filepath.Dir(pid), err)
			continue
		}
		stopped = append(stopped, "PostgreSQL in "+filepath.Dir(pid))
	}
	if stopBouncerLeft(ctx, dir) {
		stopped = append(stopped, "PgBouncer")
	}
	if len(stopped) == 0 {
		return ""
	}
	return " (stopped " + strings.Join(stopped, ", ") + ")"
}

// postmasterOf reports whether the pid in the postmaster.pid file at path
// still runs in that file's data folder (a postmaster's working directory is
// its data folder): after a reboot, a stale file's pid may be another
// process, even another run's server, which must not be signalled.
func postmasterOf(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return false
	}
	cwd, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	if err != nil {
		return false
	}
	data, err := filepath.EvalSymlinks(filepath.Dir(path))
	return err == nil && cwd == data
}

// stopBouncerLeft ends the PgBouncer whose pid file is in dir, if that pid
// still runs PgBouncer on dir's configuration (/proc tells), and reports
// whether it did.
func stopBouncerLeft(ctx context.Context, dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "pgbouncer.pid"))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !bytes.Contains(cmdline, []byte(filepath.Join(dir, "pgbouncer.ini"))) {
		return false
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for syscall.Kill(pid, 0) == nil && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	if syscall.Kill(pid, 0) == nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return true
}
