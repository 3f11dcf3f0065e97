package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inkwell-dev/inkwell/internal/citusgrow"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// The growth phase: on the loaded Citus backend, clients call at a steady
// rate while a worker is added and the shards rebalanced onto it online
// (logical replication); then every row is checked.

// moveResult is what the growth phase measured.
type moveResult struct {
	period      time.Duration // between two calls of one kind
	addNode     time.Duration // the new worker started and citus_add_node'd
	move        time.Duration // citus_rebalance_start to citus_rebalance_wait's return
	shardsMoved int           // shard placements on the new worker after it
	bytesMoved  int64
	retried     int // tries of a move after the first (a move cancelled by a deadlock is tried again)
	calls       []*citusgrow.Calls
	tables      []tableSum // before, with after beside
	written     int        // rows the clients were told were written, all found
	checks      []string   // what else was checked, each held
}

// tableSum is the count and checksum of a table's rows that existed
// before the move (all of a reference table, the loaded users' rows of a
// distributed one), before and after it.
type tableSum struct {
	table, rowsOf   string
	rows, rowsAfter int64
	sum, sumAfter   string
}

// movePeriod is the time between two calls of each kind during the phase;
// moveBefore how long they run before the worker is added.
const (
	movePeriod = 20 * time.Millisecond
	moveCall   = 30 * time.Second // each call's deadline
)

// growUnderTraffic runs the growth phase on b, a Citus backend loaded with
// cfg.users users.
func growUnderTraffic(ctx context.Context, cfg config, b *backend, stderr io.Writer) (*moveResult, error) {
	fmt.Fprintln(stderr, "Citus: wal_level logical on every node (restarts)...")
	if err := b.citus.EnableLogical(ctx); err != nil {
		return nil, err
	}
	pool, err := repo.OpenPool(ctx, b.url, repo.PoolConfig{MaxConns: 16})
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	r := repo.New(pool)
	res := &moveResult{period: movePeriod}
	var maxID int64
	if err := pool.QueryRow(ctx, "SELECT max(id) FROM users").Scan(&maxID); err != nil {
		return nil, err
	}
	if res.tables, err = sums(ctx, pool, maxID); err != nil {
		return nil, err
	}
	in, err := moveInputs(ctx, pool, maxID)
	if err != nil {
		return nil, err
	}
	// Users of the phase's own for the follows (ids above maxID: none of
	// their rows is in the sums).
	for i := range edgeUsers {
		u, err := r.RegisterUser(ctx, repo.NewUser{Name: fmt.Sprintf("Edge %d", i), Age: 30})
		if err != nil {
			return nil, err
		}
		in.edgeUsers = append(in.edgeUsers, u.ID)
	}
	w := &moveWritten{}
	clients := citusgrow.Start(moveKinds(r, in, w), movePeriod, moveCall)
	defer clients.Stop()
	res.calls = clients.Calls
	fmt.Fprintf(stderr, "Citus: clients calling every %v, %v before the move...\n", movePeriod, cfg.growBefore)
	select {
	case <-time.After(cfg.growBefore):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	clients.During.Store(true)
	start := time.Now()
	worker, err := b.citus.AddWorker(ctx, database)
	if err != nil {
		return nil, err
	}
	res.addNode = time.Since(start)
	fmt.Fprintf(stderr, "Citus: worker added in %v; rebalancing...\n", res.addNode.Round(time.Millisecond))
	start = time.Now()
	if _, err := pool.Exec(ctx, "SELECT citus_rebalance_start(shard_transfer_mode => 'force_logical')"); err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, "SELECT citus_rebalance_wait()"); err != nil {
		return nil, err
	}
	res.move = time.Since(start)
	clients.Stop()
	port, err := worker.Port()
	if err != nil {
		return nil, err
	}
	if err := pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(shard_size), 0)::bigint FROM citus_shards
		WHERE nodeport = $1 AND citus_table_type = 'distributed'`, port).Scan(&res.shardsMoved, &res.bytesMoved); err != nil {
		return nil, err
	}
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(retry_count), 0) FROM pg_dist_background_task
		WHERE job_id = (SELECT max(job_id) FROM pg_dist_background_job)`).Scan(&res.retried); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "Citus: %d shards moved in %v; checking every row...\n", res.shardsMoved, res.move.Round(time.Millisecond))
	return res, res.check(ctx, pool, maxID, w)
}

// check compares the tables' sums after the move with those before and
// requires what the clients were told was written, the emails' uniqueness
// and every user's graph whole.
func (res *moveResult) check(ctx context.Context, pool *pgxpool.Pool, maxID int64, w *moveWritten) error {
	after, err := sums(ctx, pool, maxID)
	if err != nil {
		return err
	}
	var errs []error
	for i, s := range after {
		res.tables[i].rowsAfter, res.tables[i].sumAfter = s.rows, s.sum
		if s.rows != res.tables[i].rows || s.sum != res.tables[i].sum {
			errs = append(errs, fmt.Errorf("%s: %d rows, checksum %s before the move; %d, %s after",
				s.table, res.tables[i].rows, res.tables[i].sum, s.rows, s.sum))
		}
	}
	var users, emails int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = ANY($1)", w.users).Scan(&users); err != nil {
		return err
	}
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM addresses WHERE email = ANY($1)", w.emails).Scan(&emails); err != nil {
		return err
	}
	if users != len(w.users) || emails != len(w.emails) {
		errs = append(errs, fmt.Errorf("written by the clients: %d of %d users, %d of %d emails found",
			users, len(w.users), emails, len(w.emails)))
	}
	res.written = len(w.users) + len(w.emails)
	if err := edgesMirrored(ctx, pool, maxID); err != nil {
		errs = append(errs, err)
	}
	res.checks = append(res.checks, "edges of the phase's users without their mirror row, or users the clients deleted still there")
	checks, err := citusgrow.Checks(ctx, pool)
	if err != nil {
		return err
	}
	broken, err := citusgrow.Broken(ctx, pool, checks)
	if err != nil {
		return err
	}
	for _, b := range broken {
		errs = append(errs, errors.New(b))
	}
	for _, c := range checks {
		res.checks = append(res.checks, c.What)
	}
	for _, c := range res.calls {
		if len(c.Failed) > 0 {
			errs = append(errs, fmt.Errorf("%s: %d calls failed, the first: %s", c.Name, len(c.Failed), c.Failed[0]))
		}
	}
	return errors.Join(errs...)
}

// edgesMirrored requires the edges the phase's clients wrote (their users'
// ids above maxID) each in both its rows, follows and followers, and no
// user the clients deleted left.
func edgesMirrored(ctx context.Context, pool *pgxpool.Pool, maxID int64) error {
	read := func(query string) (map[[2]int64]bool, error) {
		rows, err := pool.Query(ctx, query, maxID)
		if err != nil {
			return nil, err
		}
		pairs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (p [2]int64, err error) {
			return p, row.Scan(&p[0], &p[1])
		})
		if err != nil {
			return nil, err
		}
		set := map[[2]int64]bool{}
		for _, p := range pairs {
			set[p] = true
		}
		return set, nil
	}
	follows, err := read("SELECT user_id, followee_id FROM follows WHERE user_id > $1 OR followee_id > $1")
	if err != nil {
		return err
	}
	followers, err := read("SELECT follower_id, user_id FROM followers WHERE user_id > $1 OR follower_id > $1")
	if err != nil {
		return err
	}
	var errs []error
	for e := range follows {
		if !followers[e] {
			errs = append(errs, fmt.Errorf("edge %d->%d: its followers row is missing", e[0], e[1]))
		}
	}
	for e := range followers {
		if !follows[e] {
			errs = append(errs, fmt.Errorf("edge %d->%d: its follows row is missing", e[0], e[1]))
		}
	}
	var leavers int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM users WHERE id > $1 AND name LIKE 'Leaver %'", maxID).Scan(&leavers); err != nil {
		return err
	}
	if leavers > 0 {
		errs = append(errs, fmt.Errorf("%d users the clients deleted are still there", leavers))
	}
	return errors.Join(errs...)
}

// sums counts and sums (the first 60 bits of each row's md5, added: no
// order) the rows of every table Citus holds (its catalog) that existed
// before the move: a reference table's all, a distributed table's of the
// loaded users (id at most maxID: in the users' co-location group its
// distribution column, elsewhere its user_id). The clients add rows only of
// users they make, whose ids are higher.
func sums(ctx context.Context, pool *pgxpool.Pool, maxID int64) ([]tableSum, error) {
	rows, err := pool.Query(ctx, `SELECT p.logicalrelid::regclass::text,
		CASE WHEN p.partmethod = 'n' THEN ''
		     WHEN p.colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'users'::regclass)
		     THEN column_to_column_name(p.logicalrelid, p.partkey)
		     WHEN EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = p.logicalrelid AND a.attname = 'user_id' AND NOT a.attisdropped)
		     THEN 'user_id' ELSE '' END
		FROM pg_dist_partition p ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (tableSum, error) {
		var s tableSum
		return s, row.Scan(&s.table, &s.rowsOf)
	})
	if err != nil {
		return nil, err
	}
	for i, s := range tables {
		where := "true"
		if s.rowsOf != "" {
			where = fmt.Sprintf("%s <= %d", pgx.Identifier{s.rowsOf}.Sanitize(), maxID)
		}
		if err := pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*),
			coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text FROM %s t WHERE %s`, s.table, where)).
			Scan(&tables[i].rows, &tables[i].sum); err != nil {
			return nil, fmt.Errorf("sum %s: %w", s.table, err)
		}
	}
	return tables, nil
}

// moveIn are the clients' inputs, from the loaded rows.
type moveIn struct {
	maxID     int64
	edgeUsers []int64 // the users made for the phase's follows
	links     []struct {
		post int64
		tag  string
	} // existing links of loaded posts: TagPost writes again what is there
	tags []string
}

func moveInputs(ctx context.Context, pool *pgxpool.Pool, maxID int64) (*moveIn, error) {
	in := &moveIn{maxID: maxID}
	rows, err := pool.Query(ctx, `SELECT pt.post_id, t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
		WHERE pt.user_id <= $1 ORDER BY pt.user_id, pt.post_id, t.name LIMIT 1000`, maxID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var l struct {
			post int64
			tag  string
		}
		if err := rows.Scan(&l.post, &l.tag); err != nil {
			rows.Close()
			return nil, err
		}
		in.links = append(in.links, l)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = pool.Query(ctx, "SELECT name FROM tags ORDER BY name LIMIT 5")
	if err != nil {
		return nil, err
	}
	if in.tags, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, err
	}
	if len(in.links) == 0 || len(in.tags) == 0 {
		return nil, errors.New("growth phase: the load has no tagged posts")
	}
	return in, nil
}

// moveWritten is what the clients were told was written.
type moveWritten struct {
	mu     sync.Mutex
	users  []int64
	emails []string // of users a bulk load wrote
}

// edgeUsers is how many users the phase makes for its follows.
const edgeUsers = 40

// moveKinds are the calls of the phase: those of the issue, and the
// relations between users (an edge's two rows on two users' shards), each
// writing rows of users of its own only (TagPost puts on a loaded post a
// tag it has, which writes no row), so the loaded users' rows must not
// change.
func moveKinds(r *repo.Repo, in *moveIn, w *moveWritten) []citusgrow.Call {
	half := len(in.edgeUsers) / 2
	return []citusgrow.Call{
		{Name: "Follow or Unfollow", Do: func(ctx context.Context, i int) error {
			follower, followee := in.edgeUsers[i%half], in.edgeUsers[half+i%half]
			if i/half%2 == 1 {
				return r.Unfollow(ctx, follower, followee)
			}
			return r.Follow(ctx, follower, followee)
		}},
		{Name: "DeleteUser, following and followed", Do: func(ctx context.Context, i int) error {
			// A user of its own, made and linked first (timed with it).
			u, err := r.RegisterUser(ctx, repo.NewUser{Name: fmt.Sprintf("Leaver %d", i), Age: 30},
				fmt.Sprintf("leaver-%d@example.org", i))
			if err != nil {
				return err
			}
			other := in.edgeUsers[i%len(in.edgeUsers)]
			if err := r.Follow(ctx, u.ID, other); err != nil {
				return err
			}
			if err := r.Follow(ctx, other, u.ID); err != nil {
				return err
			}
			return r.DeleteUser(ctx, u.ID)
		}},
		{Name: "RegisterUser, 2 emails", Do: func(ctx context.Context, i int) error {
			u, err := r.RegisterUser(ctx, repo.NewUser{Name: fmt.Sprintf("Mover %d", i), Age: 30},
				fmt.Sprintf("mover-%d@example.org", i), fmt.Sprintf("mover-%d@work.example", i))
			if err == nil {
				w.mu.Lock()
				w.users = append(w.users, u.ID)
				w.mu.Unlock()
			}
			return err
		}},
		{Name: "GetUserWithAddresses (Joined)", Do: func(ctx context.Context, i int) error {
			_, err := r.GetUserWithAddresses(ctx, 1+int64(i)*7919%in.maxID, repo.Joined)
			return err
		}},
		{Name: "TagPost", Do: func(ctx context.Context, i int) error {
			l := in.links[i%len(in.links)]
			_, err := r.TagPost(ctx, l.post, l.tag)
			return err
		}},
		{Name: "ListUsers, by name", Do: func(ctx context.Context, i int) error {
			_, err := r.ListUsers(ctx, repo.UserQuery{OrderBy: repo.ByName, Limit: 20})
			return err
		}},
		{Name: "BulkInsertGraphs, 10 users", Do: func(ctx context.Context, i int) error {
			var graphs []repo.UserGraph
			for j := range 10 {
				graphs = append(graphs, repo.UserGraph{User: repo.NewUser{Name: fmt.Sprintf("Bulk mover %d.%d", i, j), Age: 40},
					Emails: []string{fmt.Sprintf("bulk-mover-%d-%d@example.org", i, j)},
					Posts:  []repo.GraphPost{{Title: "Moved", Content: "while moving", Tags: in.tags[:2]}}})
			}
			_, err := r.BulkInsertGraphs(ctx, graphsOf(graphs), repo.BulkOptions{})
			if err == nil {
				w.mu.Lock()
				for _, g := range graphs {
					w.emails = append(w.emails, g.Emails...)
				}
				w.mu.Unlock()
			}
			return err
		}},
	}
}

func graphsOf(graphs []repo.UserGraph) iter.Seq2[repo.UserGraph, error] {
	return func(yield func(repo.UserGraph, error) bool) {
		for _, g := range graphs {
			if !yield(g, nil) {
				return
			}
		}
	}
}
