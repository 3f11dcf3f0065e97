package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// progress shows how far a load has come: a bar on a terminal, otherwise a
// plain line at most every few seconds (and at the end), fit for logs.
// Rates are measured from the start of the load, never over the instant
// between two samples.
type progress struct {
	w        io.Writer
	total    int64
	bar      *progressbar.ProgressBar
	now      func() time.Time
	start    time.Time
	lastLine time.Time
	last     repo.BulkResult
	printed  int64 // users of the last line
}

const lineEvery = 2 * time.Second

func newProgress(w io.Writer, total int64, terminal bool) *progress {
	p := &progress{w: w, total: total, now: time.Now}
	p.start = p.now()
	if terminal {
		p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("users"), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("users"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
		// The bar starts its clocks at its first drawing and its first
		// count: both now, or the first batch, counted over a zero
		// interval, reads as millions of users a second.
		_ = p.bar.RenderBlank()
		_ = p.bar.Add64(0)
	}
	return p
}

// update takes the totals after a committed batch.
func (p *progress) update(res repo.BulkResult) {
	p.last = res
	if p.bar != nil {
		_ = p.bar.Set64(res.Users)
		return
	}
	now := p.now()
	// A line says how many users are in: none when that has not changed
	// (an initial load copies other tables' rows after the last user's).
	if res.Users == p.printed && !p.lastLine.IsZero() {
		return
	}
	if now.Sub(p.lastLine) >= lineEvery || res.Users == p.total {
		p.lastLine, p.printed = now, res.Users
		seconds := now.Sub(p.start).Seconds()
		fmt.Fprintf(p.w, "users %d/%d (%.0f%%): %.0f users/s", res.Users, p.total,
			100*float64(res.Users)/float64(p.total), float64(res.Users)/seconds)
		// The last line leaves the rows' rate to what follows: the summary
		// of a batched load says it again, over the whole load; an initial
		// load has copied only the users' rows yet (its copying lines say).
		if res.Users < p.total {
			fmt.Fprintf(p.w, ", %.0f rows/s in all tables", float64(res.Rows())/seconds)
		}
		fmt.Fprintln(p.w)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// phaseProgress shows how far an initial load has come: the users copied as
// progress shows a batched load's, then a line for each table copied, with
// its own rows (the tables are copied at once, so the last line gives the
// time and rate of the copy, all tables together), and for each key, index
// and foreign key built, and the ANALYZE, with the time that step took.
type phaseProgress struct {
	w         io.Writer
	users     *progress
	now       func() time.Time
	phase     repo.LoadPhase
	began     time.Time // of the phase
	stepBegan time.Time // of the step in progress
	copied    bool      // all users are read
	rows      int64     // copied, in the tables done
}

func newPhaseProgress(w io.Writer, users int64, terminal bool) *phaseProgress {
	p := &phaseProgress{w: w, users: newProgress(w, users, terminal), now: time.Now, phase: repo.PhaseCopying}
	p.began = p.users.start
	p.stepBegan = p.began
	return p
}

func (p *phaseProgress) update(l repo.LoadProgress) {
	now := p.now()
	if l.Phase != p.phase {
		p.phase, p.began = l.Phase, now
	}
	switch {
	case l.Phase == repo.PhaseCopying && l.Done == 0:
		p.users.update(l.Rows)
	case l.Done == 0:
		p.endCopy()
		fmt.Fprintf(p.w, "%s: %d to go\n", l.Phase, l.Total)
	case l.Phase == repo.PhaseCopying:
		p.endCopy()
		p.rows += l.TableRows
		fmt.Fprintf(p.w, "copying %d/%d: %s done, %d rows", l.Done, l.Total, l.Step, l.TableRows)
		if l.Done == l.Total {
			elapsed := now.Sub(p.began)
			fmt.Fprintf(p.w, "; %d tables: %d rows in %v, %.0f rows/s (the server waited %v for the client)",
				l.Total, p.rows, elapsed.Round(time.Millisecond), float64(p.rows)/elapsed.Seconds(),
				l.Starved.Round(time.Millisecond))
		}
		fmt.Fprintln(p.w)
	default:
		fmt.Fprintf(p.w, "%s %d/%d: %s done in %v\n", l.Phase, l.Done, l.Total, l.Step,
			now.Sub(p.stepBegan).Round(time.Millisecond))
	}
	p.stepBegan = now
}

func (p *phaseProgress) endCopy() {
	if !p.copied {
		p.copied = true
		p.users.finish()
	}
}

func (p *phaseProgress) finish() { p.endCopy() }
