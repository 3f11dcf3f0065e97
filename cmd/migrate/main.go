// Command migrate applies inkwell's goose migrations, embedded in the binary,
// to a database, or creates a new migration file.
//
//	migrate [-database-url URL] [-lock-timeout D] up       apply every pending migration
//	migrate [-database-url URL] [-lock-timeout D] down     roll back the latest migration
//	migrate [-database-url URL] status   list migrations and whether each is applied, and INVALID indexes
//	migrate create NAME                  add db/schema/NNNNN_NAME.sql
//
// The URL defaults to $DATABASE_URL. Connecting gives up after
// repo.DefaultConnectTimeout unless the URL's connect_timeout says otherwise.
// A migration waits for a lock -lock-timeout at most (migrate.Options).
// A database with a migration this binary does not know (a newer build
// migrated it, or another branch) is refused by up and down; status lists it
// and fails, as it does for an INVALID index (a failed CREATE INDEX
// CONCURRENTLY), which up reports too.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/inkwell-dev/inkwell/db"
	"github.com/inkwell-dev/inkwell/internal/cli"
	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

const usage = `usage: migrate [-database-url URL] [-lock-timeout 5s] up|down|status
       migrate create NAME

The URL defaults to $DATABASE_URL. A migration that waits longer than
-lock-timeout for a lock gives up, naming the lock, and is not applied.
`

var migrationName = regexp.MustCompile(`^[a-z0-9_]+$`)

func main() {
	os.Exit(cli.Run(func(ctx context.Context) int { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) }))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runFS(ctx, db.Migrations(), args, stdout, stderr)
}

// runFS is run with the migrations in fsys (the tests add one).
func runFS(ctx context.Context, fsys fs.FS, args []string, stdout, stderr io.Writer) int {
	flags := cli.New(cli.Spec{Name: "migrate", Usage: usage, Args: true}, stderr)
	url := flags.DatabaseURL("database to migrate")
	lockTimeout := flags.Duration("lock-timeout", migrate.DefaultLockTimeout,
		"how long a migration waits for a lock before it gives up (lock_timeout)")
	if err := flags.Parse(args); err != nil {
		return flags.Fail(err)
	}
	if *lockTimeout <= 0 {
		return flags.Fail(fmt.Errorf("-lock-timeout %v: must be positive", *lockTimeout))
	}
	err := command(ctx, fsys, *url, *lockTimeout, flags.Args(), stdout, flags.ErrNoDatabase)
	if errors.Is(err, errUsage) {
		return flags.UsageError()
	}
	if err != nil {
		fmt.Fprintln(stderr, "migrate:", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

// command runs the command args name; noDatabase is its error when url is
// empty and the command needs a database.
func command(ctx context.Context, fsys fs.FS, url string, lockTimeout time.Duration, args []string, stdout io.Writer, noDatabase func() error) error {
	if len(args) == 2 && args[0] == "create" {
		if !migrationName.MatchString(args[1]) {
			return fmt.Errorf("migration name %q: use lower-case letters, digits and underscores", args[1])
		}
		goose.SetSequential(true)
		return goose.Create(nil, "db/schema", args[1], "sql")
	}
	if len(args) != 1 || !slices.Contains([]string{"up", "down", "status"}, args[0]) {
		return errUsage
	}
	if url == "" {
		return noDatabase()
	}
	// Connected as every command connects (repo.OpenPool): a malformed url
	// is reported quoting none of it, and a server that does not answer is
	// given up on after repo.DefaultConnectTimeout.
	pool, err := repo.OpenPool(ctx, url, repo.PoolConfig{MaxConns: 2})
	if err != nil {
		return err
	}
	defer pool.Close()
	conn := stdlib.OpenDBFromPool(pool)
	defer conn.Close()
	m, err := migrate.New(conn, fsys, migrate.Options{LockTimeout: lockTimeout})
	if err != nil {
		return err
	}
	// A database a newer build migrated (or another branch): goose alone
	// would call it up to date (status lists this binary's migrations only,
	// up has nothing to apply) or roll back what it does not know. Up and
	// down refuse it under the migration lock.
	switch args[0] {
	case "up":
		results, err := m.Up(ctx)
		migrate.Report(stdout, results)
		if err == nil && len(results) == 0 {
			fmt.Fprintln(stdout, "no pending migrations")
		}
		return err
	case "down":
		result, err := m.Down(ctx)
		if result != nil {
			migrate.Report(stdout, []*goose.MigrationResult{result})
		}
		return err
	case "status":
		statuses, unknown, err := m.Status(ctx)
		for _, s := range statuses {
			applied := "pending"
			if s.State == goose.StateApplied {
				applied = "applied " + s.AppliedAt.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(stdout, "%-40s %s\n", s.Source.Path, applied)
		}
		if err != nil {
			return err
		}
		for _, s := range unknown {
			fmt.Fprintf(stdout, "%-40s applied %s, unknown to this binary\n",
				fmt.Sprintf("version %d", s.Source.Version), s.AppliedAt.Format("2006-01-02 15:04:05"))
		}
		invalid, err := migrate.InvalidIndexes(ctx, conn)
		if err != nil {
			return err
		}
		for _, x := range invalid {
			state := "INVALID: a concurrent build failed; drop it and apply its migration again"
			if x.Building {
				state = "INVALID while a concurrent build of it runs"
			}
			fmt.Fprintf(stdout, "%-40s %s\n", "index "+x.Index+" on "+x.Table, state)
		}
		return errors.Join(migrate.Ahead(unknown, m), migrate.CheckIndexes(ctx, conn))
	}
	return errUsage
}
