// Command devdb runs the development PostgreSQL cluster kept in .pgdata/,
// started from the server binaries installed on this machine, with a
// database "inkwell" and its least-privilege roles (see migrate.SetupRoles).
//
//	devdb start          create the cluster if needed, start it, print the app URL
//	devdb stop           stop it (the data stays)
//	devdb url [ROLE]     print the URL for ROLE: app (default), owner or admin
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/inkwell-dev/inkwell/internal/cli"
	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgcluster"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

const usage = `usage: devdb [-dir DIR] start|stop|url [app|owner|admin]

Runs the development PostgreSQL in DIR (default .pgdata), listening on
127.0.0.1 and on a Unix socket in DIR, with a database "inkwell" owned by the
role inkwell_owner (migrations) and used by inkwell_app (rows only). The URLs
are for the app role, the owner, or the superuser (admin). Local connections
are trusted: it is for development on your own machine, not for anything shared.
`

func main() {
	os.Exit(cli.Run(func(ctx context.Context) int { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) }))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := cli.New(cli.Spec{Name: "devdb", Usage: usage, Args: true}, stderr)
	dir := flags.String("dir", ".pgdata", "directory of the cluster")
	if err := flags.Parse(args); err != nil {
		return flags.Fail(err)
	}
	if flags.NArg() < 1 || flags.NArg() > 2 || (flags.NArg() == 2 && flags.Arg(0) != "url") {
		return flags.UsageError()
	}
	c, err := pgcluster.New(*dir)
	if err == nil {
		err = command(ctx, c, flags.Arg(0), flags.Arg(1), stdout)
	}
	if errors.Is(err, errUsage) {
		return flags.UsageError()
	}
	if err != nil {
		fmt.Fprintln(stderr, "devdb:", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

func command(ctx context.Context, c *pgcluster.Cluster, name, role string, stdout io.Writer) error {
	switch name {
	case "start":
		if !c.Initialized() {
			// No replicas of a development cluster: its loads skip the WAL.
			if err := c.Init(ctx, pgcluster.Options{Standalone: true}); err != nil {
				return err
			}
		}
		if !c.Running(ctx) {
			if err := c.Start(ctx); err != nil {
				return err
			}
		}
		if err := prepareDatabase(ctx, c); err != nil {
			return err
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
	user, database := migrate.AppRole, devDatabase
	switch role {
	case "", "app":
	case "owner":
		user = migrate.OwnerRole
	case "admin":
		user, database = pgcluster.Superuser, "postgres"
	default:
		return errUsage
	}
	url, err := c.URL(database)
	if err != nil {
		return fmt.Errorf("%w (run make db)", err)
	}
	fmt.Fprintln(stdout, strings.Replace(url, pgcluster.Superuser+"@", user+"@", 1))
	return nil
}

const devDatabase = "inkwell"

// prepareDatabase creates the database if it is missing and sets up its
// roles; both are idempotent.
func prepareDatabase(ctx context.Context, c *pgcluster.Cluster) error {
	admin, err := c.URL("postgres")
	if err != nil {
		return err
	}
	conn, err := repo.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", devDatabase).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+devDatabase); err != nil {
			return err
		}
	}
	url, err := c.URL(devDatabase)
	if err != nil {
		return err
	}
	db, err := repo.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	return migrate.SetupRoles(ctx, db)
}
