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
