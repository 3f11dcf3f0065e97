package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

const readers = 1000 // users in the databases of the read operations

// sizes are how big a run's operations are.
type sizes struct {
	bulk         []int // users of each bulk load
	naive, graph int   // users of the one-INSERT-each load and of the graph load
	// Times each single-row operation runs per measurement: the same numbers
	// feed the Go peers' loops and the external peers' n.
	few, many int
	lists     int // times a list operation runs per measurement
}

// sizesOf are the quick pass's sizes (a few minutes); with full the sizes
// the targets name: bulk loads of 10k, 100k and 1M users, a 100k-user graph;
// with smoke the least that runs every operation on every peer and checks
// it (seconds: its figures mean nothing).
func sizesOf(full, smoke bool) sizes {
	switch {
	case smoke:
		return sizes{bulk: []int{10}, naive: 10, graph: 10, few: 2, many: 2, lists: 1}
	case full:
		return sizes{bulk: []int{10_000, 100_000, 1_000_000}, naive: 10_000, graph: 100_000, few: 200, many: 400, lists: 30}
	}
	return sizes{bulk: []int{10_000}, naive: 2_000, graph: 10_000, few: 100, many: 200, lists: 30}
}

// operations are the report's lines, at sz.
func operations(sz sizes) []operation {
	bulkSizes, naiveSize, graphSize, few, many := sz.bulk, sz.naive, sz.graph, sz.few, sz.many
	ops := []operation{
		{name: "insert one user", key: "insert", n: few, run: func(ctx context.Context, s *server, p peer, round int) measurement {
			return onFresh(ctx, s, p, 0, func(db *database) measurement {
				return measure(db, few, func(i int) error {
					_, err := p.insertUser(ctx, user{Name: fmt.Sprint("One ", i), Age: 30})
					return err
				})
			})
		}},
		{name: "get a user by id", key: "get", n: many, seed: readers, run: func(ctx context.Context, s *server, p peer, round int) measurement {
			return onFresh(ctx, s, p, readers, func(db *database) measurement {
				return measure(db, many, func(i int) error { return p.getUser(ctx, int64(1+i%readers)) })
			})
		}},
		{name: "update a user's age", key: "update", n: few, seed: readers, run: func(ctx context.Context, s *server, p peer, round int) measurement {
			return onFresh(ctx, s, p, readers, func(db *database) measurement {
				return measure(db, few, func(i int) error { return p.updateAge(ctx, int64(1+i%readers), int32(20+i%50)) })
			})
		}},
	}
	for _, size := range bulkSizes {
		ops = append(ops, bulk(fmt.Sprintf("bulk insert %s users, best path", count(size)), "bulk", size,
			func(ctx context.Context, p peer, users []user) error { return p.bulkUsers(ctx, users) }))
	}
	ops = append(ops,
		bulk(fmt.Sprintf("bulk insert %s users, one INSERT each", count(naiveSize)), "bulk-naive", naiveSize,
			func(ctx context.Context, p peer, users []user) error { return p.bulkUsersNaive(ctx, users) }),
		operation{name: fmt.Sprintf("bulk insert %s users with 2 addresses each (ids needed)", count(graphSize)),
			key: "graph", n: 1, size: graphSize, rows: 3 * graphSize,
			run: func(ctx context.Context, s *server, p peer, round int) measurement {
				graphs := makeGraphs(graphSize, fmt.Sprint(round))
				return onFresh(ctx, s, p, 0, func(db *database) measurement {
					m := measure(db, 1, func(int) error { return p.bulkGraph(ctx, graphs) })
					if m.err == nil {
						m.err = expectRows(ctx, db, "addresses of the users inserted", 2*graphSize,
							"SELECT count(*) FROM users u JOIN addresses a ON a.user_id = u.id")
					}
					m.rows = graphSize * 3
					return m
				})
			}},
		list(sz.lists, "list 100 users with addresses, joined", "list-joined", func(ctx context.Context, p peer) (int, error) { return p.listJoined(ctx, 100) }),
		list(sz.lists, "list 100 users with addresses, select-in", "list-selectin", func(ctx context.Context, p peer) (int, error) { return p.listSelectIn(ctx, 100) }),
		list(sz.lists, "list 100 users with addresses, N+1", "list-naive", func(ctx context.Context, p peer) (int, error) { return p.listNaive(ctx, 100) }),
		list(sz.lists, "keyset page of 100 users with posts", "page-posts", func(ctx context.Context, p peer) (int, error) { return p.pageWithPosts(ctx, 0, 100) }),
		operation{name: "register a user with 2 emails (one transaction)", key: "register", n: few, run: func(ctx context.Context, s *server, p peer, round int) measurement {
			return onFresh(ctx, s, p, 0, func(db *database) measurement {
				m := measure(db, few, func(i int) error {
					return p.register(ctx, user{Name: "New", Age: 30}, []string{fmt.Sprintf("n%d@example.com", i), fmt.Sprintf("n%d@work.example", i)})
				})
				if m.err == nil {
					m.err = expectRows(ctx, db, "addresses of registered users", 2*(few+warmUps(few)),
						"SELECT count(*) FROM users u JOIN addresses a ON a.user_id = u.id WHERE u.name = 'New'")
				}
				return m
			})
		}},
		operation{name: "register with a taken email (rolled back)", key: "register-taken", n: few, seed: readers, run: func(ctx context.Context, s *server, p peer, round int) measurement {
			return onFresh(ctx, s, p, readers, func(db *database) measurement {
				m := measure(db, few, func(i int) error {
					err := p.register(ctx, user{Name: "Dup", Age: 30}, []string{fmt.Sprintf("d%d@example.com", i), "r1@example.com"})
					if err == nil {
						return errors.New("a taken email was accepted")
					}
					return nil
				})
				if m.err == nil {
					m.err = noneWritten(ctx, db)
				}
				return m
			})
		}},
	)
	for i := range ops {
		op := ops[i]
		ops[i].run = func(ctx context.Context, s *server, p peer, round int) measurement {
			if ext, ok := p.(externalPeer); ok {
				return onFresh(ctx, s, p, op.seed, func(db *database) measurement { return ext.runOp(ctx, db, op, round) })
			}
			return op.run(ctx, s, p, round)
		}
	}
	return ops
}

func count(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func bulk(name, key string, size int, load func(context.Context, peer, []user) error) operation {
	return operation{name: name, key: key, n: 1, size: size, rows: size, run: func(ctx context.Context, s *server, p peer, round int) measurement {
		users := makeUsers(size, fmt.Sprint(round))
		return onFresh(ctx, s, p, 0, func(db *database) measurement {
			m := measure(db, 1, func(int) error { return load(ctx, p, users) })
			m.rows = size
			return m
		})
	}}
}

// list measures a read of 100 users' related rows, runs times, checking
// that all 200 arrived.
func list(runs int, name, key string, load func(context.Context, peer) (int, error)) operation {
	return operation{name: name, key: key, n: runs, seed: readers, run: func(ctx context.Context, s *server, p peer, round int) measurement {
		return onFresh(ctx, s, p, readers, func(db *database) measurement {
			return measure(db, runs, func(int) error {
				n, err := load(ctx, p)
				if err == nil && n != 200 {
					err = fmt.Errorf("loaded %d related rows, not 200", n)
				}
				return err
			})
		})
	}}
}

// noneWritten checks that the rolled-back registrations left no user.
func noneWritten(ctx context.Context, db *database) error {
	return expectRows(ctx, db, "users of failed registrations", 0, "SELECT count(*) FROM users WHERE name = 'Dup'")
}

// expectRows checks that query counts want rows (what), straight on the
// server, so that no peer's count of round trips sees it.
func expectRows(ctx context.Context, db *database, what string, want int, query string) error {
	conn, err := pgx.Connect(ctx, db.direct)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n != want {
		return fmt.Errorf("%d %s, want %d", n, what, want)
	}
	return nil
}

// ownersMatch checks what inkwell keeps true after every operation: each
// address has its email_owners row, keyed by email_key(email), and there
// is no other row (db/schema/00007_keys_by_user.sql).
func ownersMatch(ctx context.Context, db *database) error {
	return expectRows(ctx, db, "addresses without their email_owners row, or email_owners rows without their address", 0, `
		SELECT count(*) FROM addresses a
		FULL JOIN email_owners o ON o.user_id = a.user_id AND o.address_id = a.id AND o.email_key = email_key(a.email)
		WHERE a.id IS NULL OR o.email_key IS NULL`)
}
