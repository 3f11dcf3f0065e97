package pgtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgcluster"
)

func TestDeadline(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ timeout, want time.Duration }{
		{10 * time.Minute, 9 * time.Minute},     // a tenth
		{40 * time.Minute, 36 * time.Minute},    // a tenth
		{2 * time.Minute, 90 * time.Second},     // at least 30 s
		{time.Minute, 30 * time.Second},         // at least 30 s, at most half
		{20 * time.Second, 10 * time.Second},    // at most half
		{time.Hour, time.Hour - 6*time.Minute},  // a tenth
		{5 * time.Minute, 4*time.Minute + 30e9}, // a tenth
	} {
		require.Equal(t, c.want, deadline(c.timeout), "timeout %v", c.timeout)
	}
}

// TestGoTestTimeout: Main reads go test's -timeout (go test passes 10m when
// none is given).
func TestGoTestTimeout(t *testing.T) {
	t.Parallel()
	require.Positive(t, goTestTimeout())
}

// refused reports whether nothing accepts connections at url any more.
func refused(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err == nil {
		conn.Close(ctx)
	}
	return err != nil
}

// TestWatchdogStopsEverything: the watchdog's action prints every goroutine,
// stops every server registered, removes its folder and exits 1.
func TestWatchdogStopsEverything(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var reg registry
	c, release, err := startOwnCluster(ctx, &reg, Throwaway)
	require.NoError(t, err)
	t.Cleanup(func() { _ = release() }) // when the test fails before expire
	url, err := c.URL("postgres")
	require.NoError(t, err)
	require.False(t, refused(url))

	var out bytes.Buffer
	code := -1
	reg.expire(&out, 9*time.Minute, 30*time.Second, func(c int) { code = c })
	require.Equal(t, 1, code)
	require.Contains(t, out.String(), "ran past its own deadline (9m0s")
	require.Contains(t, out.String(), "goroutine ")
	require.Contains(t, out.String(), "TestWatchdogStopsEverything") // this goroutine's stack
	require.Contains(t, out.String(), "stopped the cluster in "+c.Dir)
	require.True(t, refused(url))
	require.NoDirExists(t, c.Dir)
	require.NoError(t, release(), "already stopped: a no-op")
}

// sweepRoot returns a folder for a sweep of the test's own, which the
// server's user can enter (as root the clusters run as postgres).
func sweepRoot(t *testing.T) string {
	root, err := os.MkdirTemp("", "inkwell-sweeptest-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(root, 0o711))
	t.Cleanup(func() { os.RemoveAll(root) })
	return root
}

// TestSweep: at its start Main stops and removes what a dead run left, and
// nothing of a live one.
func TestSweep(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := sweepRoot(t)
	mkdir := func(pattern string) string {
		dir, err := os.MkdirTemp(root, pattern)
		require.NoError(t, err)
		return dir
	}
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	self, _ := processStart(os.Getpid())

	// A cluster left running by a process that is gone.
	left := mkdir("inkwell-cluster-test-")
	require.NoError(t, writeOwner(left, dead.Process.Pid, "1"))
	c, err := pgcluster.New(left)
	require.NoError(t, err)
	require.NoError(t, Throwaway(ctx, c))
	require.NoError(t, c.Start(ctx))
	t.Cleanup(func() { _ = c.Kill(context.Background()) }) // when the sweep failed to
	url, err := c.URL("postgres")
	require.NoError(t, err)
	require.False(t, refused(url))

	// A folder of a pid that now runs another process (this one, started at
	// another time).
	reused := mkdir("inkwell-pgtest-")
	require.NoError(t, writeOwner(reused, os.Getpid(), self+"0"))
	// A folder of a process killed and not yet reaped (a zombie), as a test
	// binary killed by go test is for a moment.
	zombie := mkdir("inkwell-cluster-test-")
	if runtime.GOOS == "linux" {
		z := exec.Command("true")
		require.NoError(t, z.Start())
		t.Cleanup(func() { _ = z.Wait() })
		require.Eventually(t, func() bool { _, state, _ := procStat(z.Process.Pid); return state == "Z" },
			10*time.Second, 10*time.Millisecond)
		start, _ := processStart(z.Process.Pid)
		require.NoError(t, writeOwner(zombie, z.Process.Pid, start))
	} else {
		require.NoError(t, writeOwner(zombie, dead.Process.Pid, ""))
	}
	// No owner file, and old.
	old := mkdir("inkwell-citus-")
	require.NoError(t, os.Chtimes(old, time.Now(), time.Now().Add(-2*unownedAge)))
	// This process's own.
	mine := mkdir("inkwell-pgbouncer-")
	require.NoError(t, writeOwner(mine, os.Getpid(), self))
	// No owner file, young: a package that is starting.
	young := mkdir("inkwell-pgtest-")
	// Not ours at all.
	other := mkdir("someone-else-")
	require.NoError(t, os.Chtimes(other, time.Now(), time.Now().Add(-2*unownedAge)))

	var out bytes.Buffer
	sweep(ctx, root, time.Now(), &out)
	require.True(t, refused(url), "the server left behind stopped")
	require.Contains(t, out.String(), "removed "+left+", left by a test run that is gone (stopped PostgreSQL in "+
		filepath.Join(left, "data")+")")
	for _, dir := range []string{left, reused, zombie, old} {
		require.NoDirExists(t, dir)
		require.Contains(t, out.String(), "removed "+dir)
	}
	for _, dir := range []string{mine, young, other} {
		require.DirExists(t, dir)
		require.NotContains(t, out.String(), dir)
	}
}

func TestProcessStart(t *testing.T) {
	t.Parallel()
	a, ok := processStart(os.Getpid())
	if runtime.GOOS == "linux" { // elsewhere, no /proc: owners are told by pid alone
		require.True(t, ok)
		require.NotEmpty(t, a)
	}
	b, _ := processStart(os.Getpid())
	require.Equal(t, a, b)
	gone, owned := ownerGone(t.TempDir())
	require.False(t, owned)
	require.False(t, gone)
}

// TestPostmasterOfStalePid: a postmaster.pid whose pid now runs elsewhere
// (here: this test process, whose working folder is not the data folder) is
// not taken for the server, so the sweep signals nothing.
func TestPostmasterOfStalePid(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.Mkdir(data, 0o700))
	path := filepath.Join(data, "postmaster.pid")
	require.NoError(t, os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"+data+"\n"), 0o600))
	require.False(t, postmasterOf(path))
	require.NoError(t, os.WriteFile(path, []byte("garbage\n"), 0o600))
	require.False(t, postmasterOf(path))
}
