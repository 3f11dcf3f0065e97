package main

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// latencyProxy is a TCP proxy that delays each direction by half a round
// trip time, so that the peers run as if the server were that far away.
// Each chunk read is stamped and delivered at its stamp plus the delay, so
// that pipelined traffic is not serialised: chunks sent back to back arrive
// back to back, each one delay late (toxiproxy's latency toxic works the
// same way, in whole milliseconds; this one waits to the microsecond). It
// also counts round trips on the wire: a chunk from a client after its
// connection heard from the server starts one.
type latencyProxy struct {
	ln      net.Listener
	network string // the server's: tcp or unix
	target  string
	oneWay  time.Duration
	trips   atomic.Int64
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
}

// startProxy listens on a free loopback port and forwards to target.
func startProxy(network, target string, rtt time.Duration) (*latencyProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &latencyProxy{ln: ln, network: network, target: target, oneWay: rtt / 2, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *latencyProxy) addr() string { return p.ln.Addr().String() }

// close stops listening and cuts every connection.
func (p *latencyProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *latencyProxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *latencyProxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		server, err := net.Dial(p.network, p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.track(client, true)
		p.track(server, true)
		var heard atomic.Bool // the server has answered since the client last sent
		heard.Store(true)     // the startup message starts a round trip
		done := make(chan struct{}, 2)
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			p.pipe(server, client, func() {
				if heard.Swap(false) {
					p.trips.Add(1)
				}
			})
			done <- struct{}{}
		}()
		go func() {
			defer p.wg.Done()
			p.pipe(client, server, func() { heard.Store(true) })
			done <- struct{}{}
		}()
		go func() { // when either side ends, end both
			<-done
			_ = client.Close()
			_ = server.Close()
			p.track(client, false)
			p.track(server, false)
		}()
	}
}

type chunk struct {
	data []byte
	at   time.Time // when it was read
}

// pipe copies src to dst, each chunk oneWay after it was read; onRead is
// called as each chunk is read. It returns when src ends or dst fails.
func (p *latencyProxy) pipe(dst, src net.Conn, onRead func()) {
	chunks := make(chan chunk, 1024)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				onRead()
				chunks <- chunk{data: buf[:n], at: time.Now()}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		waitUntil(c.at.Add(p.oneWay))
		if _, err := dst.Write(c.data); err != nil {
			for range chunks { // let the reader finish
			}
			return
		}
	}
	if tcp, ok := dst.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
}

// waitUntil returns at t, to the microsecond: a timer gets close, then it
// yields until t. Timers overshoot by up to a millisecond or so (timer slack,
// a busy machine), so the last 2 ms are spent yielding: a core is busy while
// a chunk is in flight, the price of the precision.
func waitUntil(t time.Time) {
	const spin = 2 * time.Millisecond
	if d := time.Until(t) - spin; d > 0 {
		time.Sleep(d)
	}
	for time.Now().Before(t) {
		runtime.Gosched()
	}
}
