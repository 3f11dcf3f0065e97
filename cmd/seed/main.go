// Command seed migrates a database and fills it: with the people, emails and
// posts of the SQLAlchemy tutorials inkwell answers, and, with --users N, N
// generated users inserted with COPY. It then prints a user with their
// addresses and every user's posts, as the tutorials do.
//
// Running it again adds no duplicate tutorial rows.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

const usage = `usage: seed [flags]

Migrates the database, seeds the SQLAlchemy tutorials' people and posts (once,
however often it runs), adds --users generated users with COPY, and prints a
user with their addresses and the posts per user.

Flags:
`

type config struct {
	databaseURL string
	users       int
	batchSize   int
	poolSize    int
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "seed:", err)
		return 2
	}
	if err := seed(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "seed:", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	flags := flag.NewFlagSet("seed", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprint(stderr, usage)
		flags.PrintDefaults()
	}
	flags.StringVar(&cfg.databaseURL, "database-url", "", "database to seed (default $DATABASE_URL)")
	flags.IntVar(&cfg.users, "users", 0, "generated users to add, with COPY")
	flags.IntVar(&cfg.batchSize, "batch-size", 10_000, "generated users per COPY transaction")
	flags.IntVar(&cfg.poolSize, "pool-size", 4, "connections in the pool")
	if err := flags.Parse(args); err != nil {
		return cfg, err
	}
	if flags.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	if cfg.databaseURL == "" {
		cfg.databaseURL = os.Getenv("DATABASE_URL")
	}
	switch {
	case cfg.databaseURL == "":
		return cfg, errors.New("no database: set DATABASE_URL or pass --database-url (make seed starts a local one)")
	case cfg.users < 0:
		return cfg, fmt.Errorf("--users %d: must not be negative", cfg.users)
	case cfg.batchSize < 1:
		return cfg, fmt.Errorf("--batch-size %d: must be at least 1", cfg.batchSize)
	case cfg.poolSize < 1:
		return cfg, fmt.Errorf("--pool-size %d: must be at least 1", cfg.poolSize)
	}
	return cfg, nil
}

func seed(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	pool, err := repo.OpenPool(ctx, cfg.databaseURL, repo.PoolConfig{MaxConns: int32(cfg.poolSize)})
	if err != nil {
		return err
	}
	defer pool.Close()
	results, err := migrate.UpPool(ctx, pool)
	migrate.Report(stderr, results)
	if err != nil {
		return err
	}
	r := repo.New(pool)

	added, err := seedTutorial(ctx, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "tutorial people: %d added, %d already there\n", added, len(tutorialPeople)-added)
	if err := seedGenerated(ctx, r, cfg, stderr); err != nil {
		return err
	}
	return display(ctx, r, stdout)
}

// seedTutorial registers the tutorials' people and their posts in one
// transaction. A person whose email is registered already was seeded by an
// earlier run: their registration fails alone (it runs in a savepoint) and
// is skipped.
func seedTutorial(ctx context.Context, r *repo.Repo) (added int, err error) {
	err = r.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
		added = 0
		for _, p := range tutorialPeople {
			u, err := tx.RegisterUser(ctx, p.user, p.emails...)
			if errors.Is(err, repo.ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
			added++
			for _, post := range p.posts {
				created, err := tx.CreatePost(ctx, repo.NewPost{UserID: u.ID, Title: post.title,
					Content: post.content, Published: true, Rating: 4})
				if err != nil {
					return err
				}
				if _, err := tx.TagPost(ctx, created.ID, post.tags...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return added, err
}

// seedGenerated adds cfg.users generated users in batches, each batch one
// COPY in its own transaction, reporting progress as it goes.
func seedGenerated(ctx context.Context, r *repo.Repo, cfg config, stderr io.Writer) error {
	if cfg.users == 0 {
		return nil
	}
	start := time.Now()
	batch := make([]repo.NewUser, 0, cfg.batchSize)
	for done := 0; done < cfg.users; {
		batch = batch[:0]
		for i := done; i < cfg.users && len(batch) < cfg.batchSize; i++ {
			batch = append(batch, generatedUser(i))
		}
		n, err := r.BulkCreateUsers(ctx, batch)
		if err != nil {
			return fmt.Errorf("%w (%d of %d generated users were committed)", err, done, cfg.users)
		}
		done += int(n)
		fmt.Fprintf(stderr, "generated users: %d/%d\n", done, cfg.users)
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stderr, "generated users: %d in %v (%.0f rows/s)\n",
		cfg.users, elapsed.Round(time.Millisecond), float64(cfg.users)/elapsed.Seconds())
	return nil
}

// display prints what the tutorials print: display_user('Hannah'), then for
// every user, their posts.
func display(ctx context.Context, r *repo.Repo, stdout io.Writer) error {
	u, err := r.FindUserByName(ctx, displayed, repo.Joined)
	if errors.Is(err, repo.ErrNotFound) {
		fmt.Fprintln(stdout, "User not found.")
	} else if err != nil {
		return err
	} else {
		fmt.Fprintf(stdout, "User: %s, Age: %d\n", u.Name, u.Age)
		for _, a := range u.Addresses {
			fmt.Fprintf(stdout, "Email: %s\n", a.Email)
		}
	}
	fmt.Fprintln(stdout)
	q := repo.PostQuery{Limit: repo.MaxPageSize}
	for {
		page, err := r.ListPosts(ctx, q, repo.Joined)
		if err != nil {
			return err
		}
		for _, p := range page.Items {
			fmt.Fprintf(stdout, "%s: %s - %s\n", p.Author.Name, p.Title, p.Content)
		}
		if page.Next == "" {
			return nil
		}
		q.After = page.Next
	}
}
