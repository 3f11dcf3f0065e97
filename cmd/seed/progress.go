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
type progress struct {
	w        io.Writer
	total    int64
	bar      *progressbar.ProgressBar
	start    time.Time
	lastLine time.Time
	last     repo.BulkResult
}

const lineEvery = 2 * time.Second

func newProgress(w io.Writer, total int64, terminal bool) *progress {
	p := &progress{w: w, total: total, start: time.Now()}
	if terminal {
		p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("users"), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("users"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
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
	if time.Since(p.lastLine) >= lineEvery || res.Users == p.total {
		p.lastLine = time.Now()
		fmt.Fprintf(p.w, "users %d/%d (%.0f%%), %.0f rows/s\n", res.Users, p.total,
			100*float64(res.Users)/float64(p.total), float64(res.Rows())/time.Since(p.start).Seconds())
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
