package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"
)

// externalPeer runs whole operations in another process.
type externalPeer interface {
	runOp(ctx context.Context, db *database, op operation, round int) measurement
}

// sqlalchemyPeer is SQLAlchemy 1.4's ORM with psycopg2 (Debian's
// python3-sqlalchemy and python3-psycopg2), in bench/sqlalchemy/bench.py.
type sqlalchemyPeer struct{ script, python string }

func (p *sqlalchemyPeer) name() string { return "SQLAlchemy 1.4" }

func (p *sqlalchemyPeer) open(ctx context.Context, db *database) error { return nil }
func (p *sqlalchemyPeer) close()                                       {}

// The per-call methods are not used: runOp runs each operation whole.
func (p *sqlalchemyPeer) insertUser(context.Context, user) (int64, error) { return 0, errUnsupported }
func (p *sqlalchemyPeer) getUser(context.Context, int64) error            { return errUnsupported }
func (p *sqlalchemyPeer) updateAge(context.Context, int64, int32) error   { return errUnsupported }
func (p *sqlalchemyPeer) bulkUsers(context.Context, []user) error         { return errUnsupported }
func (p *sqlalchemyPeer) bulkUsersNaive(context.Context, []user) error    { return errUnsupported }
func (p *sqlalchemyPeer) bulkGraph(context.Context, []graph) error        { return errUnsupported }
func (p *sqlalchemyPeer) listJoined(context.Context, int) (int, error)    { return 0, errUnsupported }
func (p *sqlalchemyPeer) listSelectIn(context.Context, int) (int, error)  { return 0, errUnsupported }
func (p *sqlalchemyPeer) listNaive(context.Context, int) (int, error)     { return 0, errUnsupported }
func (p *sqlalchemyPeer) pageWithPosts(context.Context, int64, int) (int, error) {
	return 0, errUnsupported
}
func (p *sqlalchemyPeer) register(context.Context, user, []string) error { return errUnsupported }

func newSQLAlchemyPeer() *sqlalchemyPeer {
	_, file, _, _ := runtime.Caller(0)
	p := &sqlalchemyPeer{script: filepath.Join(filepath.Dir(file), "..", "..", "sqlalchemy", "bench.py"), python: "python3"}
	// Debian's packages install into the system Python, which another
	// python3 first on PATH (pyenv, a virtualenv) would not see.
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		p.python = "/usr/bin/python3"
	}
	return p
}

func (p *sqlalchemyPeer) runOp(ctx context.Context, db *database, op operation, round int) measurement {
	cmd := exec.CommandContext(ctx, p.python, p.script, "--url", db.url, "--op", op.key,
		"--n", strconv.Itoa(op.n), "--size", strconv.Itoa(op.size), "--tag", strconv.Itoa(round),
		"--pool-size", strconv.Itoa(db.poolSize), "--warm-up", strconv.Itoa(warmUps(op.n)))
	cmd.Stderr = os.Stderr
	trips := db.roundTrips()
	out, err := cmd.Output()
	wire := float64(db.roundTrips()-trips) / float64(op.n+warmUps(op.n))
	if err != nil {
		return measurement{err: fmt.Errorf("%s: %w", op.key, err)}
	}
	var res struct {
		NsPerOp         float64 `json:"ns_per_op"`
		RoundTripsPerOp float64 `json:"round_trips_per_op"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return measurement{err: fmt.Errorf("%s: %w: %s", op.key, err, out)}
	}
	if db.proxy != nil { // counted on the wire, connecting and warming up included
		res.RoundTripsPerOp = wire
	}
	return measurement{perOp: time.Duration(res.NsPerOp), allocs: math.NaN(), roundTrips: res.RoundTripsPerOp, rows: op.rows}
}
