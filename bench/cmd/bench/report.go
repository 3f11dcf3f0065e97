package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// row is one peer's medians for one operation.
type row struct {
	op, peer    string
	unsupported bool
	perOp       time.Duration
	ratio       float64 // to pgx in the same round
	allocs      float64
	roundTrips  float64
	rowsPerSec  float64 // bulk operations only
}

func median(vals []float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	v := slices.Clone(vals)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func summarize(ops []operation, results map[string]map[string][]measurement) []row {
	var rows []row
	for _, op := range ops {
		base := results[op.name]["pgx"]
		for _, p := range peers() {
			ms := results[op.name][p.name()]
			r := row{op: op.name, peer: p.name()}
			if len(ms) == 0 || errors.Is(ms[0].err, errUnsupported) {
				r.unsupported = true
				rows = append(rows, r)
				continue
			}
			var times, ratios, allocs, trips []float64
			for i, m := range ms {
				times = append(times, float64(m.perOp))
				ratios = append(ratios, float64(m.perOp)/float64(base[i].perOp))
				allocs = append(allocs, m.allocs)
				trips = append(trips, m.roundTrips)
			}
			r.perOp = time.Duration(median(times))
			r.ratio = median(ratios)
			r.allocs = median(allocs)
			r.roundTrips = median(trips)
			if ms[0].rows > 0 {
				r.rowsPerSec = float64(ms[0].rows) / r.perOp.Seconds()
			}
			rows = append(rows, r)
		}
	}
	return rows
}

func human(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
}

// rttTable is the -rtt pass's table at one synchronous_commit.
type rttTable struct {
	syncCommit string
	rows       []row
}

// durability says what a synchronous_commit setting puts in a write's time.
func durability(syncCommit string) string {
	switch syncCommit {
	case "off":
		return "commits return before their WAL reaches the disk (the WAL writer flushes it within wal_writer_delay; a crash loses at most the last commits, never consistency), so a write costs the network and the server's work, not the disk's flush"
	case "on", "remote_apply", "remote_write":
		return "each commit waits until its WAL is flushed to disk, so every write's time includes the disk's flush (with fsync on)"
	}
	return "each commit waits until its WAL is flushed to the local disk (with fsync on)"
}

func writeReport(cfg config, rows []row, rttTables []rttTable, env string) error {
	var b strings.Builder
	fmt.Fprintf(&b, `inkwell against hand-written pgx (the floor), GORM, bun, ent and SQLAlchemy 1.4, on the same schema
(inkwell's migrations), data, server and pool size. Written by `+"`%s`"+`
(`+"`bench/cmd/bench`"+`); %s.

Every round runs every peer, in a rotating order; each peer's time is divided
by pgx's in the same round, and the tables show medians over the rounds%s. Every
operation runs on a fresh copy of a migrated template database, through a pool
that has connected before the clock starts; an operation timed over many calls
first makes %d untimed ones, so that what is timed is a warm service's steady
state (statements prepared, the server's caches filled).
Allocations are per operation, in the Go process; round trips are the
statements, COPYs and pgx batches (one each) the peer sent, per operation, counted by a pgx tracer
under every Go peer (GORM, bun and ent run on pgx's database/sql driver). Statement
caching: pgx's default (prepared statements cached per connection) for pgx,
inkwell, GORM (PrepareStmt on) and ent; bun inlines arguments into its SQL, so
every statement text is new and it runs in pgx's exec mode (one round trip, no
cache); SQLAlchemy with psycopg2 sends plain statements. Every peer writes
what inkwell writes: each address with its email_owners row in the same
transaction (pgx keys it in SQL by email_key, as inkwell's statements do; the
ORMs, as an application on them would, in Go or Python, and insert the rows
after the addresses' ids come back), and every operation is checked (the rows
loaded or written, each address's email_owners row).

![inkwell and its peers against pgx](docs/bench.svg)

## On loopback, synchronous_commit %s

With synchronous_commit %s, %s.

| operation | peer | time per op | rows/s | vs pgx | allocs/op | round trips/op |
| --- | --- | --- | --- | --- | --- | --- |
`, cfg.command(), env, cfg.bulkNote(cfg.rounds), warmUp, cfg.syncCommits[0], cfg.syncCommits[0], durability(cfg.syncCommits[0]))
	for _, r := range rows {
		if r.unsupported {
			fmt.Fprintf(&b, "| %s | %s | not possible | | | | |\n", r.op, r.peer)
			continue
		}
		rate := ""
		if r.rowsPerSec > 0 {
			rate = fmt.Sprintf("%.0f", r.rowsPerSec)
		}
		allocs := "—"
		if !math.IsNaN(r.allocs) {
			allocs = fmt.Sprintf("%.0f", r.allocs)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2fx | %s | %.1f |\n",
			r.op, r.peer, human(r.perOp), rate, r.ratio, allocs, r.roundTrips)
	}
	b.WriteString(`
"Not possible": GORM, bun and ent load has-many relations only with a second
query (Preload, Relation, With...), never with a JOIN.

SQLAlchemy 1.4 runs in its own process (bench/sqlalchemy/bench.py, psycopg2),
as the tutorials use it: a session per operation, relationships, lazy loading
for N+1, joinedload and selectinload, bulk_insert_mappings as its best bulk
path; "—": allocations are not counted for Python. ent runs on code generated
from bench/cmd/bench/ent/schema (go generate).
`)
	for _, t := range rttTables {
		writeRTTTable(&b, cfg, t)
	}
	if _, err := os.Stat(cfg.out); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(cfg.out, []byte("# Benchmarks\n\n"), 0o644); err != nil {
			return err
		}
	}
	return spliceFile(cfg.out, cfg.section, b.String())
}

// command is the bench command that made the report, without its URL (which
// may hold a password).
func (cfg config) command() string {
	c := fmt.Sprintf("bench -rounds %d", cfg.rounds)
	if cfg.full {
		c += " -full"
	}
	if cfg.smoke {
		c += " -smoke"
	}
	if cfg.only != "" {
		c += " -only " + cfg.only
	}
	if cfg.rtt > 0 {
		c += fmt.Sprintf(" -rtt %s -rtt-rounds %d", cfg.rtt, cfg.rttRounds)
	}
	if cfg.bulkRounds > 0 {
		c += fmt.Sprintf(" -bulk-rounds %d", cfg.bulkRounds)
	}
	return c + " -synchronous-commit " + strings.Join(cfg.syncCommits, ",")
}

// bulkNote says how many of a pass's rounds ran the bulk loads, when fewer.
func (cfg config) bulkNote(rounds int) string {
	if n := cfg.bulkRoundsOf(rounds); n < rounds {
		return fmt.Sprintf(" (the bulk loads: %d rounds)", n)
	}
	return ""
}

// writeRTTTable adds the pass through the latency proxy: there a call costs
// about its round trips times the RTT, and the round trips are counted on
// the wire (connecting included, for SQLAlchemy's process).
func writeRTTTable(b *strings.Builder, cfg config, t rttTable) {
	fmt.Fprintf(b, `
## At %s round trip time, synchronous_commit %s

With synchronous_commit %s, %s. The same operations, every peer connected through an in-process proxy
(`+"`bench/cmd/bench/proxy.go`"+`) that delays each direction by %s, to the
microsecond, without serialising pipelined traffic: as if the server were in
another zone of the region. Medians of %d rounds%s. Round trips are counted on
the wire by the proxy: a client's write after the server has answered starts
one, so pipelined statements count once (for SQLAlchemy's process the count
includes connecting and the warm-up calls, spread over the operations).

| operation | peer | time per op | rows/s | vs pgx | round trips/op |
| --- | --- | --- | --- | --- | --- |
`, cfg.rtt, t.syncCommit, t.syncCommit, durability(t.syncCommit), cfg.rtt/2, cfg.rttRounds, cfg.bulkNote(cfg.rttRounds))
	for _, r := range t.rows {
		if r.unsupported {
			fmt.Fprintf(b, "| %s | %s | not possible | | | |\n", r.op, r.peer)
			continue
		}
		rate := ""
		if r.rowsPerSec > 0 {
			rate = fmt.Sprintf("%.0f", r.rowsPerSec)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %.2fx | %.1f |\n", r.op, r.peer, human(r.perOp), rate, r.ratio, r.roundTrips)
	}
}

// writeChart draws each peer's ratio to pgx per operation, on a log scale.
func writeChart(path string, rows []row) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	colors := map[string]string{"pgx": "#888888", "inkwell": "#1f77b4", "GORM": "#d62728", "bun": "#2ca02c", "ent": "#ff7f0e", "SQLAlchemy 1.4": "#9467bd"}
	const left, barH, gap, width = 330, 9, 10, 900
	var ops []string
	for _, r := range rows {
		if !slices.Contains(ops, r.op) {
			ops = append(ops, r.op)
		}
	}
	nPeers := len(rows) / len(ops)
	height := 80 + len(ops)*(nPeers*barH+gap)
	lo, hi := math.Log10(0.02), math.Log10(50.0)
	x := func(ratio float64) float64 {
		v := math.Max(lo, math.Min(hi, math.Log10(ratio)))
		return left + (v-lo)/(hi-lo)*(width-left-20)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="10" y="16" font-size="13">Time per operation relative to hand-written pgx (log scale; left of 1x is faster)</text>`+"\n")
	for _, tick := range []float64{0.02, 0.1, 0.5, 1, 2, 10, 50} {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="50" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%gx</text>`+"\n",
			x(tick), x(tick), height-20, x(tick), height-6, tick)
	}
	y := 56
	for _, op := range ops {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-6, y+nPeers*barH/2+4, op)
		for _, r := range rows {
			if r.op != op {
				continue
			}
			if !r.unsupported {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %.2fx</title></rect>`+"\n",
					left, y, x(r.ratio)-left, barH-1, colors[r.peer], r.peer, r.ratio)
			}
			y += barH
		}
		y += gap
	}
	lx := 10
	for _, p := range []string{"pgx", "inkwell", "GORM", "bun", "ent", "SQLAlchemy 1.4"} {
		fmt.Fprintf(&b, `<rect x="%d" y="30" width="10" height="8" fill="%s"/><text x="%d" y="38">%s</text>`+"\n", lx, colors[p], lx+13, p)
		lx += 110
	}
	b.WriteString("</svg>\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
