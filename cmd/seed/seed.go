package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/inkwell-dev/inkwell/internal/fakedata"
	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

func seed(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	poolCfg := repo.PoolConfig{MaxConns: int32(cfg.poolSize), TracerProvider: cfg.tracing}
	if cfg.tracing != nil { // one trace for the run: its spans are children of "seed"
		var span trace.Span
		ctx, span = cfg.tracing.Tracer("github.com/inkwell-dev/inkwell/cmd/seed").Start(ctx, "seed")
		defer span.End()
	}
	if cfg.verbose {
		cfg.logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		poolCfg.Logger = cfg.logger
		poolCfg.Log.SlowQuery = time.Second
	}
	if err := migrateDatabase(ctx, cfg, stderr); err != nil {
		return err
	}
	pool, err := repo.OpenPool(ctx, cfg.databaseURL, poolCfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	r := repo.New(pool)
	if cfg.verbose {
		defer func() { fmt.Fprintf(stderr, "pool: %+v\n", r.Stats().Primary) }()
	}

	if cfg.reset {
		if err := r.Reset(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "reset: every table emptied")
	}
	if cfg.seed == 0 && (cfg.users > 0 || cfg.load == loadInitial) {
		cfg.seed = rand.Uint64N(1<<53) + 1
		fmt.Fprintf(stderr, "seed: %d (pass --seed %d to make the same data again)\n", cfg.seed, cfg.seed)
	}
	if cfg.load == loadInitial || cfg.load == loadAuto && cfg.users > 0 {
		loaded, err := seedInitial(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		if loaded {
			return display(ctx, r, stdout)
		}
	}
	added, err := seedTutorial(ctx, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "tutorial people: %d added, %d already there\n", added, len(tutorialPeople)-added)
	if cfg.users > 0 {
		if err := seedGenerated(ctx, r, cfg, stderr); err != nil {
			return err
		}
	}
	return display(ctx, r, stdout)
}

// migrateDatabase applies the pending migrations of cfg.migrations, as the
// role of cfg.migrateURL; a database with a migration they lack is refused
// (migrate.ErrAhead): the seed writes only into a schema it knows.
func migrateDatabase(ctx context.Context, cfg config, stderr io.Writer) error {
	pool, err := repo.OpenPool(ctx, cfg.migrateURL, repo.PoolConfig{MaxConns: 2, TracerProvider: cfg.tracing})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer pool.Close()
	results, err := migrate.UpPoolFS(ctx, pool, cfg.migrations)
	migrate.Report(stderr, results)
	return err
}

// seedTutorial registers the tutorials' people and their posts in one
// transaction. A person an earlier run seeded (the oldest user of that name
// has their first email) is skipped: looked up first, so that an ordinary
// second run sends no statement that fails (each would be a WARN line with
// --verbose). Should someone else hold their email, their registration fails
// alone (it runs in a savepoint) and is skipped too.
func seedTutorial(ctx context.Context, r *repo.Repo) (added int, err error) {
	err = r.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
		added = 0
		for _, p := range tutorialPeople {
			seeded, err := seededAlready(ctx, tx, p)
			if err != nil {
				return err
			}
			if seeded {
				continue
			}
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

// seededAlready reports whether p is in the database: the oldest user of
// p's name has p's first email (in any case).
func seededAlready(ctx context.Context, r *repo.Repo, p person) (bool, error) {
	u, err := r.FindUserByName(ctx, p.user.Name, repo.Joined)
	if errors.Is(err, repo.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, a := range u.Addresses {
		if strings.EqualFold(a.Email, p.emails[0]) {
			return true, nil
		}
	}
	return false, nil
}

// errRolledBack marks the failure of an initial load: nothing of it stays.
type errRolledBack struct{ err error }

func (e errRolledBack) Error() string { return e.err.Error() }
func (e errRolledBack) Unwrap() error { return e.err }

// tutorialGraphs are the tutorials' people as graphs, to lead an initial
// load: the first users, as a batched seed makes them.
func tutorialGraphs() []repo.UserGraph {
	var out []repo.UserGraph
	for _, p := range tutorialPeople {
		g := repo.UserGraph{User: p.user, Emails: p.emails}
		for _, post := range p.posts {
			g.Posts = append(g.Posts, repo.GraphPost{Title: post.title, Content: post.content,
				Published: true, Rating: 4, Tags: post.tags})
		}
		out = append(out, g)
	}
	return out
}

// seedInitial loads the tutorials' people and cfg.users generated users into
// empty tables in one transaction, as the schema owner (--migrate-url): the
// keys, indexes and foreign keys come off for the copy and are put back after
// (repo.InitialLoadGraphs). It returns false, having changed nothing, when the
// load is refused before it starts (repo.ErrLoadRefused: a table has rows, the
// role may not alter the tables, a view depends on a key) and cfg.load is
// auto, saying why in one line: the batched path adds the users instead.
func seedInitial(ctx context.Context, cfg config, stderr io.Writer) (bool, error) {
	pool, err := repo.OpenPool(ctx, cfg.migrateURL, repo.PoolConfig{MaxConns: 2, Logger: cfg.logger,
		Log: repo.LogOptions{SlowQuery: time.Second}, TracerProvider: cfg.tracing})
	if err != nil {
		return false, fmt.Errorf("initial load: %w", err)
	}
	defer pool.Close()
	gen := generator(cfg)
	tutorial := tutorialGraphs()
	graphs := func(yield func(repo.UserGraph, error) bool) {
		for _, g := range tutorial {
			if !yield(g, nil) {
				return
			}
		}
		for g, err := range gen.Users(cfg.users) {
			if !yield(g, err) {
				return
			}
		}
	}
	start := time.Now()
	progress := newPhaseProgress(stderr, int64(len(tutorial)+cfg.users), cfg.progressBar)
	res, err := repo.New(pool).InitialLoadGraphs(ctx, graphs, repo.InitialLoadOptions{
		MaintenanceWorkMem: cfg.workMem, MaintenanceWorkers: cfg.workers, Progress: progress.update,
		Tables: cfg.tables(),
	})
	progress.finish()
	switch {
	case errors.Is(err, repo.ErrLoadRefused) && cfg.load == loadAuto:
		fmt.Fprintf(stderr, "%s; adding the users in batches instead\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return false, nil
	case errors.Is(err, repo.ErrPermission):
		return false, fmt.Errorf("%w\n(pass the schema owner's URL as --migrate-url, or --load batched)", err)
	case errors.Is(err, repo.ErrLoadRefused):
		return false, errRolledBack{fmt.Errorf("%w\n(--load batched adds the users in batches)", err)}
	case err != nil:
		return false, errRolledBack{err}
	}
	fmt.Fprintf(stderr, "tutorial people: %d added, 0 already there\n", len(tutorial))
	elapsed := time.Since(start)
	fmt.Fprintf(stderr, "loaded in one transaction: users %d, addresses %d, profiles %d, posts %d, post_tags %d%s; "+
		"%d rows in %v, %.0f rows/s\n", res.Users, res.Addresses, res.Profiles, res.Posts, res.PostTags, yours(res),
		res.Rows(), elapsed.Round(time.Millisecond), float64(res.Rows())/elapsed.Seconds())
	return true, nil
}

// seedGenerated adds cfg.users generated user graphs in batches, each its
// own transaction, showing progress, and ends with a summary of what was
// committed, interrupted or not.
func seedGenerated(ctx context.Context, r *repo.Repo, cfg config, stderr io.Writer) error {
	gen := generator(cfg)
	start := time.Now()
	progress := newProgress(stderr, int64(cfg.users), cfg.progressBar)
	res, err := r.BulkInsertGraphs(ctx, gen.Users(cfg.users), repo.BulkOptions{
		BatchSize: cfg.batchSize, Progress: progress.update, Tables: cfg.tables(),
	})
	progress.finish()
	fmt.Fprintln(stderr, summary(res, time.Since(start)))
	if errors.Is(err, repo.ErrConflict) {
		return fmt.Errorf("%w\n(data from this --seed is there already: use --reset, or another --seed)", err)
	}
	return err
}

func summary(res repo.BulkResult, elapsed time.Duration) string {
	return fmt.Sprintf("committed %s: users %d, addresses %d, profiles %d, posts %d, post_tags %d%s; "+
		"%d rows in %v, %.0f rows/s",
		plural(res.Batches, "batch", "batches"), res.Users, res.Addresses, res.Profiles, res.Posts, res.PostTags, yours(res),
		res.Rows(), elapsed.Round(time.Millisecond), float64(res.Rows())/elapsed.Seconds())
}

// yours counts the rows of the follows and of the tables of yours
// (tables.go), when there are any.
func yours(res repo.BulkResult) string {
	if res.Extra == 0 {
		return ""
	}
	return fmt.Sprintf(", follows and your tables %d", res.Extra)
}

// tables are the tables the loads fill besides the repository's own: the
// follows (--follows-per-user), then the tables of yours.
func (cfg config) tables() []repo.ExtraTable {
	if cfg.followsPerUser == 0 {
		return cfg.extension.tables
	}
	return append(slices.Clone(fakedata.FollowTables), cfg.extension.tables...)
}

// generator makes the generated users, with their follows and the rows of
// the tables of yours; a new one for each load (a graph's n, which
// repo.UserBefore counts back from, is its place in its load).
func generator(cfg config) *fakedata.Generator {
	extra := cfg.extension.rows
	if cfg.followsPerUser > 0 {
		extra = fakedata.All(fakedata.Follows(cfg.followsPerUser), cfg.extension.rows)
	}
	return fakedata.New(fakedata.Config{Seed: cfg.seed, AddressesPerUser: cfg.addressesPerUser,
		PostsPerUser: cfg.postsPerUser, Tags: cfg.tags, Tables: cfg.tables(), Extra: extra})
}

// plural says "1 batch", "2 batches".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// displayedUsers is how many users display prints the posts of: the
// tutorials' people, who are the first users of a database this command seeded.
var displayedUsers = len(tutorialPeople)

// display prints what the tutorials print: display_user('Hannah'), then the
// posts of each user, here the first ones, loaded with their posts in one query.
func display(ctx context.Context, r *repo.Repo, stdout io.Writer) error {
	u, err := r.FindUserByName(ctx, displayed, repo.Joined)
	switch {
	case errors.Is(err, repo.ErrNotFound):
		fmt.Fprintln(stdout, "User not found.")
	case err != nil:
		return err
	default:
		fmt.Fprintf(stdout, "User: %s, Age: %d\n", u.Name, u.Age)
		for _, a := range u.Addresses {
			fmt.Fprintf(stdout, "Email: %s\n", a.Email)
		}
	}
	fmt.Fprintln(stdout)
	page, err := r.ListUsersWithPosts(ctx, repo.UserQuery{Limit: displayedUsers}, repo.Joined)
	if err != nil {
		return err
	}
	for _, user := range page.Items {
		for _, p := range user.Posts {
			fmt.Fprintf(stdout, "%s: %s - %s\n", user.Name, p.Title, p.Content)
		}
	}
	return nil
}
