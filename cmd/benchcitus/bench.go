package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// results is what a run measured, for the report.
type results struct {
	cfg                config
	backends           []*backend // one node, then Citus
	cpus               int
	loadStart, loadEnd string // load averages
	started            time.Time
	took               time.Duration
	move               *moveResult // the growth phase's, when run
}

// bench starts the backends, loads, measures and reports; the servers are
// stopped and their folders removed however it ends.
func bench(ctx context.Context, cfg config, stdout, stderr io.Writer) (err error) {
	res := &results{cfg: cfg, cpus: runtime.NumCPU(), loadStart: loadAverage(), started: time.Now()}
	backends, err := startBackends(ctx, cfg, stderr)
	defer func() {
		for _, b := range backends {
			err = errors.Join(err, b.stop())
		}
	}()
	if err != nil {
		return err
	}
	res.backends = backends
	for _, b := range backends {
		fmt.Fprintf(stderr, "%s: loading %d users...\n", b.name, cfg.users)
		if err := load(ctx, cfg, b); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s: %d rows in %v\n", b.name, b.load.rows.Rows(), b.load.elapsed.Round(time.Millisecond))
		if err := loadedIDs(ctx, b); err != nil {
			return err
		}
	}
	if err := sameRows(backends[0], backends[1]); err != nil {
		return err
	}
	if err := measure(ctx, cfg, backends, stderr); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "Citus: counting the commands the coordinator sends for each call...")
	if err := probeRemote(ctx, cfg, backends[1]); err != nil {
		return err
	}
	if cfg.measured != nil {
		if err := cfg.measured(ctx, backends, res); err != nil {
			return err
		}
	}
	// Last: it changes the Citus backend (a worker more, rows added).
	if cfg.grow {
		if res.move, err = growUnderTraffic(ctx, cfg, backends[1], stderr); err != nil {
			return fmt.Errorf("growth phase: %w", err)
		}
	}
	res.loadEnd = loadAverage()
	res.took = time.Since(res.started)
	var report strings.Builder
	writeReport(&report, res)
	if _, err := io.WriteString(stdout, report.String()); err != nil {
		return err
	}
	if cfg.out != "" {
		return os.WriteFile(cfg.out, []byte(report.String()), 0o644)
	}
	return nil
}
