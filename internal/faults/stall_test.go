package faults_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// stallProxy forwards TCP connections to a server until it is stalled: then
// it stops passing bytes either way, as a dead network does (no reset, no
// close), until it is resumed.
type stallProxy struct {
	l       net.Listener
	target  string
	stalled atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &stallProxy{l: l, target: target}
	p.wg.Go(p.accept)
	return p
}

func (p *stallProxy) addr() string { return p.l.Addr().String() }

func (p *stallProxy) accept() {
	for {
		client, err := p.l.Accept()
		if err != nil {
			return // closed
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(server, client) })
		p.wg.Go(func() { p.pipe(client, server) })
	}
}

// pipe copies src to dst, holding what it reads while the proxy is stalled.
func (p *stallProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for n > 0 && p.stalled.Load() {
			time.Sleep(5 * time.Millisecond)
			if p.closed() {
				return
			}
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			// Pass the end on: a half-close for EOF, else a close.
			if tcp, ok := dst.(*net.TCPConn); ok && err == io.EOF {
				_ = tcp.CloseWrite()
			} else {
				dst.Close()
			}
			return
		}
	}
}

func (p *stallProxy) closed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns == nil
}

func (p *stallProxy) close() {
	p.l.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// TestNetworkStall cuts the network silently under a pool: every call
// returns by its deadline (plus the second the pool waits for a cancel
// request), the pool works again once the network does, and nothing is left
// running afterwards.
func TestNetworkStall(t *testing.T) {
	// Not parallel: the goroutine check must see only this test's goroutines.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := pgtest.StartCluster(t, pgtest.Throwaway)
	direct := pgtest.CreateDatabase(t, c, "inkwell")
	port, err := c.Port()
	require.NoError(t, err)
	proxy := newStallProxy(t, "127.0.0.1:"+strconv.Itoa(port))
	defer proxy.close()

	u, err := url.Parse(direct)
	require.NoError(t, err)
	u.Host = proxy.addr()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	pool, err := repo.OpenPool(context.Background(), u.String(), repo.PoolConfig{MaxConns: 2})
	require.NoError(t, err)
	defer pool.Close()
	r := repo.New(pool)
	user, err := r.CreateUser(context.Background(), repo.NewUser{Name: "Net", Age: 1})
	require.NoError(t, err)

	proxy.stalled.Store(true)
	for _, call := range []func(context.Context) error{
		func(ctx context.Context) error { _, err := r.GetUser(ctx, user.ID); return err },
		func(ctx context.Context) error {
			_, err := r.CreateUser(ctx, repo.NewUser{Name: "Lost", Age: 1})
			return err
		},
		func(ctx context.Context) error {
			return r.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error { _, err := tx.GetUser(ctx, user.ID); return err })
		},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		cancel()
		require.Error(t, err)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), 5*time.Second, "returned by its deadline, not hung")
	}

	proxy.stalled.Store(false)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		got, err := r.GetUser(ctx, user.ID)
		return err == nil && got.Name == "Net"
	}, 20*time.Second, 50*time.Millisecond, "the pool works again once the network does")
}
