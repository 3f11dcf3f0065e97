package repo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Option configures a Repo made by New.
type Option func(*Repo)

// ReplicaOptions tune how reads are spread over replicas.
type ReplicaOptions struct {
	// MaxLag is how far behind the primary a replica may be and still serve
	// reads; 0 means DefaultMaxLag.
	MaxLag time.Duration
	// CheckEvery is how often each replica's health and lag are checked;
	// 0 means DefaultCheckEvery.
	CheckEvery time.Duration
}

// Replica defaults.
const (
	DefaultMaxLag     = 5 * time.Second
	DefaultCheckEvery = time.Second
)

// WithReplicas sends the read-only methods (Get..., Find..., List...) to
// these pools, hot standbys of the primary, in turn. A replica that does not
// answer, is not in recovery, or lags the primary by more than MaxLag is
// skipped until a later check finds it well; with none left, reads go to the
// primary. Writes and everything inside InTx always go to the primary.
// Call Close to stop the checks.
func WithReplicas(opts ReplicaOptions, replicas ...*pgxpool.Pool) Option {
	return func(r *Repo) {
		if len(replicas) == 0 {
			return
		}
		if opts.MaxLag <= 0 {
			opts.MaxLag = DefaultMaxLag
		}
		if opts.CheckEvery <= 0 {
			opts.CheckEvery = DefaultCheckEvery
		}
		rs := &replicaSet{opts: opts, primary: r.pool, stop: make(chan struct{})}
		for _, p := range replicas {
			rs.replicas = append(rs.replicas, &replica{pool: p, repo: onPool(p)})
		}
		r.replicas = rs
		go rs.run()
	}
}

// Close stops the replica checks WithReplicas started. It does not close
// the pools, which belong to the caller.
func (r *Repo) Close() {
	if r.replicas != nil {
		r.replicas.close()
	}
}

// replicaSet spreads reads over replicas and keeps their health up to date.
type replicaSet struct {
	opts     ReplicaOptions
	primary  *pgxpool.Pool
	replicas []*replica
	next     atomic.Uint64 // round robin
	stopped  sync.Once
	stop     chan struct{}

	mu      sync.Mutex
	samples []walSample // the primary's WAL position over time, oldest first
}

type replica struct {
	pool  *pgxpool.Pool
	repo  *Repo
	state atomic.Pointer[replicaState]
}

// replicaState is what the last check found.
type replicaState struct {
	up bool
	// freshAsOf: the replica has replayed everything the primary had
	// committed by then. Its lag is now minus freshAsOf.
	freshAsOf time.Time
	err       error
}

// walSample: by time at, the primary's WAL had reached lsn.
type walSample struct {
	at  time.Time
	lsn uint64
}

// pick returns the next replica, in turn, that is up, lags less than MaxLag
// and is fresh as of notBefore; nil if there is none.
func (rs *replicaSet) pick(notBefore time.Time) *replica {
	n := uint64(len(rs.replicas))
	start := rs.next.Add(1)
	now := time.Now()
	for i := range n {
		rep := rs.replicas[(start+i)%n]
		s := rep.state.Load()
		if s == nil || !s.up || now.Sub(s.freshAsOf) > rs.opts.MaxLag || s.freshAsOf.Before(notBefore) {
			continue
		}
		return rep
	}
	return nil
}

func (rs *replicaSet) close() {
	rs.stopped.Do(func() { close(rs.stop) })
}

// run checks the replicas now and then every CheckEvery, until Close.
func (rs *replicaSet) run() {
	t := time.NewTicker(rs.opts.CheckEvery)
	defer t.Stop()
	for {
		rs.check()
		select {
		case <-rs.stop:
			return
		case <-t.C:
		}
	}
}

// check samples the primary's WAL position, then each replica's replayed
// position, and derives how fresh each replica is.
func (rs *replicaSet) check() {
	ctx, cancel := context.WithTimeout(context.Background(), rs.opts.CheckEvery)
	defer cancel()
	// Taken before asking: the WAL of every commit acknowledged by then is at
	// or below the insert position (even with synchronous_commit off, when
	// it may not be written yet).
	at := time.Now()
	var lsn string
	if err := rs.primary.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err == nil {
		if pos, err := parseLSN(lsn); err == nil {
			rs.mu.Lock()
			rs.samples = append(rs.samples, walSample{at: at, lsn: walEnd(pos)})
			// Keep what MaxLag can reach back to, and one more.
			for len(rs.samples) > 2 && time.Since(rs.samples[1].at) > rs.opts.MaxLag {
				rs.samples = rs.samples[1:]
			}
			rs.mu.Unlock()
		}
	}
	for _, rep := range rs.replicas {
		rep.state.Store(rs.checkReplica(ctx, rep))
	}
}

func (rs *replicaSet) checkReplica(ctx context.Context, rep *replica) *replicaState {
	var inRecovery bool
	var replayed *string
	err := rep.pool.QueryRow(ctx, "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text").Scan(&inRecovery, &replayed)
	switch {
	case err != nil:
		return &replicaState{err: err}
	case !inRecovery || replayed == nil:
		return &replicaState{err: fmt.Errorf("not a standby in recovery")}
	}
	pos, err := parseLSN(*replayed)
	if err != nil {
		return &replicaState{err: err}
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	s := &replicaState{up: true}
	for _, sample := range rs.samples {
		if sample.lsn <= pos {
			s.freshAsOf = sample.at
		}
	}
	return s
}

// walEnd is where the WAL before an insert position ends. Right after a page
// header no record has begun on the page, so the WAL ends at the page's
// start, which is where a standby's replay stops: without this an idle
// primary whose last record filled a page would look ahead of every standby
// until its next record. (PostgreSQL's default 8 kB pages and 16 MB
// segments; long headers begin segments.)
func walEnd(insert uint64) uint64 {
	const page, segment, shortHeader, longHeader = 8192, 16 << 20, 24, 40
	switch {
	case insert%segment == longHeader:
		return insert - longHeader
	case insert%page == shortHeader:
		return insert - shortHeader
	}
	return insert
}

// parseLSN reads PostgreSQL's "16/B374D848" form of a WAL position.
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("malformed WAL position %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("malformed WAL position %q", s)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("malformed WAL position %q", s)
	}
	return h<<32 | l, nil
}

// ReplicaStatus is what the latest check found of one replica.
type ReplicaStatus struct {
	Up  bool
	Lag time.Duration // how far behind the primary it may be; meaningful when Up
	Err error         // why it is not Up
}

// ReplicaStatuses reports on each replica given to WithReplicas, in order.
func (r *Repo) ReplicaStatuses() []ReplicaStatus {
	if r.replicas == nil {
		return nil
	}
	out := make([]ReplicaStatus, len(r.replicas.replicas))
	for i, rep := range r.replicas.replicas {
		s := rep.state.Load()
		if s == nil {
			out[i] = ReplicaStatus{Err: fmt.Errorf("not checked yet")}
			continue
		}
		out[i] = ReplicaStatus{Up: s.up, Err: s.err}
		if s.up {
			out[i].Lag = time.Since(s.freshAsOf)
		}
	}
	return out
}
