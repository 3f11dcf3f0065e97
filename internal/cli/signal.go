package cli

import (
	"context"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// Signals records the signal that cancelled a context of WithSignals.
type Signals struct {
	caught atomic.Pointer[os.Signal]
}

// WithSignals returns a context cancelled by the first SIGINT or SIGTERM the
// process receives, and what records it. After the first, the signals go
// back to their default: a second Ctrl-C kills at once. The watch ends when
// parent is done.
func WithSignals(parent context.Context) (context.Context, *Signals) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return watch(parent, ch, func() { signal.Stop(ch) })
}

// watch cancels the context it returns on the first value of ch, recording
// it, and calls stop once it has a signal or parent is done.
func watch(parent context.Context, ch <-chan os.Signal, stop func()) (context.Context, *Signals) {
	ctx, cancel := context.WithCancel(parent)
	s := &Signals{}
	go func() {
		defer stop()
		select {
		case sig := <-ch:
			s.caught.Store(&sig) // before cancel: whoever sees ctx done sees the signal
			cancel()
		case <-parent.Done():
			cancel()
		}
	}()
	return ctx, s
}

// Signal is the signal caught, or nil.
func (s *Signals) Signal() os.Signal {
	if p := s.caught.Load(); p != nil {
		return *p
	}
	return nil
}

// ExitCode is the exit code of a command that returned code: code, but
// 128 plus the signal's number when a signal was caught and code is not 0
// (the shell's convention: 130 for SIGINT, 143 for SIGTERM).
func (s *Signals) ExitCode(code int) int {
	if sig, ok := s.Signal().(syscall.Signal); ok && code != 0 {
		return 128 + int(sig)
	}
	return code
}

// Run runs a command with a context of WithSignals and returns its exit
// code as ExitCode says: main is os.Exit(cli.Run(...)).
func Run(command func(ctx context.Context) int) int {
	ctx, s := WithSignals(context.Background())
	return s.ExitCode(command(ctx))
}
