package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoPgBouncer means the pgbouncer program was not found on PATH.
var ErrNoPgBouncer = errors.New("pgbouncer not found: install it (Debian/Ubuntu: apt-get install pgbouncer; macOS: brew install pgbouncer)")

// PgBouncer is a PgBouncer in transaction pooling mode in front of a server,
// its files in Dir.
type PgBouncer struct {
	Dir  string
	Port int
	cmd  *exec.Cmd
}

// StartPgBouncer starts PgBouncer in transaction pooling mode on 127.0.0.1,
// forwarding every database to the server at host:port. users maps each role
// that may connect to its password on the server ("" when the server trusts
// it); clients themselves are trusted. When we are root, it runs as the
// postgres user, as PgBouncer refuses root too.
func StartPgBouncer(ctx context.Context, dir, host string, port int, users map[string]string) (*PgBouncer, error) {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		for _, p := range []string{"/usr/sbin/pgbouncer", "/opt/homebrew/bin/pgbouncer", "/usr/local/bin/pgbouncer"} {
			if isExecutable(p) {
				bin, err = p, nil
				break
			}
		}
		if err != nil {
			return nil, ErrNoPgBouncer
		}
	}
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	var userlist strings.Builder
	for name, password := range users {
		fmt.Fprintf(&userlist, "%q %q\n", name, password)
	}
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
logfile = %s
pidfile = %s
`, host, port, listen, filepath.Join(dir, "userlist.txt"), filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))
	for name, content := range map[string]string{"userlist.txt": userlist.String(), "pgbouncer.ini": ini} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	cmd.Dir = dir
	if os.Geteuid() == 0 {
		cred, err := postgresUser()
		if err != nil {
			return nil, err
		}
		for _, p := range []string{dir, filepath.Join(dir, "userlist.txt"), filepath.Join(dir, "pgbouncer.ini")} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pgbouncer: %w", err)
	}
	b := &PgBouncer{Dir: dir, Port: listen, cmd: cmd}
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(listen), time.Second)
		if err == nil {
			conn.Close()
			return b, nil
		}
		if ctx.Err() != nil {
			b.Stop()
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			return nil, fmt.Errorf("pgbouncer did not start listening: %w\n%s", ctx.Err(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends PgBouncer.
func (b *PgBouncer) Stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	_ = b.cmd.Wait()
}
