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
	if now.Sub(p.lastLine) >= lineEvery || res.Users == p.total {
		p.lastLine = now
		seconds := now.Sub(p.start).Seconds()
		fmt.Fprintf(p.w, "users %d/%d (%.0f%%): %.0f users/s, %.0f rows/s in all tables\n", res.Users, p.total,
			100*float64(res.Users)/float64(p.total), float64(res.Users)/seconds, float64(res.Rows())/seconds)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// phaseProgress shows how far an initial load has come: the users read as
// progress shows a batched load's, then a line for each table copied, each key, index and
// foreign key built, with the rows, the time since the phase began and the
// rate.
type phaseProgress struct {
	w      io.Writer
	users  *progress
	now    func() time.Time
	phase  repo.LoadPhase
	began  time.Time // of the phase
	copied bool      // all users are read
}

func newPhaseProgress(w io.Writer, users int64, terminal bool) *phaseProgress {
	p := &phaseProgress{w: w, users: newProgress(w, users, terminal), now: time.Now, phase: repo.PhaseCopying}
	p.began = p.users.start
	return p
}

func (p *phaseProgress) update(l repo.LoadProgress) {
	now := p.now()
	if l.Phase != p.phase {
		p.phase, p.began = l.Phase, now
		if l.Phase != repo.PhaseCopying {
			p.endCopy()
		}
	}
	elapsed := now.Sub(p.began)
	switch {
	case l.Phase == repo.PhaseCopying && l.Done == 0:
		p.users.update(l.Rows)
	default:
		p.endCopy()
		p.line(l, elapsed)
	}
}

// line says a step is done: the rows so far, the time since the phase began,
// and the rate over the phase.
func (p *phaseProgress) line(l repo.LoadProgress, elapsed time.Duration) {
	rows := l.Rows.Rows()
	if l.Done == 0 {
		fmt.Fprintf(p.w, "%s: %d to go\n", l.Phase, l.Total)
		return
	}
	starved := ""
	if l.Phase == repo.PhaseCopying && l.Done == l.Total {
		starved = fmt.Sprintf(" (the server waited %v for the client)", l.Starved.Round(time.Millisecond))
	}
	fmt.Fprintf(p.w, "%s %d/%d: %s done, %d rows, %v, %.0f rows/s%s\n", l.Phase, l.Done, l.Total, l.Step,
		rows, elapsed.Round(time.Millisecond), float64(rows)/elapsed.Seconds(), starved)
}

func (p *phaseProgress) endCopy() {
	if !p.copied {
		p.copied = true
		p.users.finish()
	}
}

func (p *phaseProgress) finish() { p.endCopy() }
