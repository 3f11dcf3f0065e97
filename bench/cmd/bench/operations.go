package main

import (
	"context"
	"errors"
	"fmt"
)

const readers = 1000 // users in the databases of the read operations

// operations are the quick pass's (a few minutes), or with full the sizes
// the targets name: bulk loads of 10k, 100k and 1M users, a 100k-user graph.
func operations(full bool) []operation {
	bulkSizes, naiveSize, graphSize, reps := []int{10_000}, 2_000, 10_000, 1
	if full {
		bulkSizes, naiveSize, graphSize, reps = []int{10_000, 100_000, 1_000_000}, 10_000, 100_000, 2
	}
	// Times each single-row operation runs per measurement: the same numbers
	// feed the Go peers' loops and the external peers' n.
	few, many := 100*reps, 200*reps
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
					m.rows = graphSize * 3
					return m
				})
			}},
		list("list 100 users with addresses, joined", "list-joined", func(ctx context.Context, p peer) (int, error) { return p.listJoined(ctx, 100) }),
		list("list 100 users with addresses, select-in", "list-selectin", func(ctx context.Context, p peer) (int, error) { return p.listSelectIn(ctx, 100) }),
		list("list 100 users with addresses, N+1", "list-naive", func(ctx context.Context, p peer) (int, error) { return p.listNaive(ctx, 100) }),
		list("keyset page of 100 users with posts", "page-posts", func(ctx context.Context, p peer) (int, error) { return p.pageWithPosts(ctx, 0, 100) }),
		operation{name: "register a user with 2 emails (one transaction)", key: "register", n: few, run: func(ctx context.Context, s *server, p peer, round int) measurement {
			return onFresh(ctx, s, p, 0, func(db *database) measurement {
				return measure(db, few, func(i int) error {
					return p.register(ctx, user{Name: "New", Age: 30}, []string{fmt.Sprintf("n%d@example.com", i), fmt.Sprintf("n%d@work.example", i)})
				})
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

// list measures a read of 100 users' related rows, checking that all 200
// arrived.
// listRuns is how many times a list operation runs per measurement.
const listRuns = 30

func list(name, key string, load func(context.Context, peer) (int, error)) operation {
	return operation{name: name, key: key, n: listRuns, seed: readers, run: func(ctx context.Context, s *server, p peer, round int) measurement {
		return onFresh(ctx, s, p, readers, func(db *database) measurement {
			return measure(db, listRuns, func(int) error {
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
	pool, err := db.pgxPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM users WHERE name = 'Dup'").Scan(&n); err != nil {
		return err
	}
	if n != 0 {
		return fmt.Errorf("%d users of failed registrations were left", n)
	}
	return nil
}
