// Command devdb runs the development PostgreSQL cluster kept in .pgdata/,
// started from the server binaries installed on this machine.
//
//	devdb start   create the cluster if needed, start it, print its URL
//	devdb stop    stop it (the data stays)
//	devdb url     print the URL of the running cluster
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/inkwell-dev/inkwell/internal/pgcluster"
)

const usage = `usage: devdb [-dir DIR] start|stop|url

Runs the development PostgreSQL in DIR (default .pgdata), listening on
127.0.0.1 and on a Unix socket in DIR. Local connections are trusted: it is
for development on your own machine, not for anything shared.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("devdb", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() { fmt.Fprint(stderr, usage) }
	dir := flags.String("dir", ".pgdata", "directory of the cluster")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() != 1 {
		flags.Usage()
		return 2
	}
	c, err := pgcluster.New(*dir)
	if err == nil {
		err = command(ctx, c, flags.Arg(0), stdout)
	}
	if errors.Is(err, errUsage) {
		flags.Usage()
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "devdb:", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

func command(ctx context.Context, c *pgcluster.Cluster, name string, stdout io.Writer) error {
	switch name {
	case "start":
		if !c.Initialized() {
			if err := c.Init(ctx, pgcluster.Options{}); err != nil {
				return err
			}
		}
		if !c.Running(ctx) {
			if err := c.Start(ctx); err != nil {
				return err
			}
		}
	case "stop":
		if !c.Running(ctx) {
			return nil
		}
		return c.Stop(ctx)
	case "url":
	default:
		return errUsage
	}
	url, err := c.URL("postgres")
	if err != nil {
		return fmt.Errorf("%w (run make db)", err)
	}
	fmt.Fprintln(stdout, url)
	return nil
}
