package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// inkwellPeer is this project's repository.
type inkwellPeer struct {
	pool *pgxpool.Pool
	r    *repo.Repo
}

func (p *inkwellPeer) name() string { return "inkwell" }

func (p *inkwellPeer) open(ctx context.Context, db *database) error {
	var err error
	if p.pool, err = db.pgxPool(ctx); err != nil {
		return err
	}
	p.r = repo.New(p.pool)
	return nil
}

func (p *inkwellPeer) close() { p.pool.Close() }

func (p *inkwellPeer) insertUser(ctx context.Context, u user) (int64, error) {
	got, err := p.r.CreateUser(ctx, repo.NewUser{Name: u.Name, Age: u.Age})
	return got.ID, err
}

func (p *inkwellPeer) getUser(ctx context.Context, id int64) error {
	_, err := p.r.GetUser(ctx, id)
	return err
}

func (p *inkwellPeer) updateAge(ctx context.Context, id int64, age int32) error {
	_, err := p.r.UpdateUser(ctx, id, repo.UserPatch{Age: &age})
	return err
}

func (p *inkwellPeer) bulkUsers(ctx context.Context, users []user) error {
	in := make([]repo.NewUser, len(users))
	for i, u := range users {
		in[i] = repo.NewUser{Name: u.Name, Age: u.Age}
	}
	_, err := p.r.BulkCreateUsers(ctx, in)
	return err
}

func (p *inkwellPeer) bulkUsersNaive(ctx context.Context, users []user) error {
	return p.r.InTx(ctx, repo.TxOptions{MaxAttempts: 1}, func(tx *repo.Repo) error {
		for _, u := range users {
			if _, err := tx.CreateUser(ctx, repo.NewUser{Name: u.Name, Age: u.Age}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (p *inkwellPeer) bulkGraph(ctx context.Context, graphs []graph) error {
	seq := func(yield func(repo.UserGraph, error) bool) {
		for _, g := range graphs {
			if !yield(repo.UserGraph{User: repo.NewUser{Name: g.User.Name, Age: g.User.Age}, Emails: g.Emails}, nil) {
				return
			}
		}
	}
	res, err := p.r.BulkInsertGraphs(ctx, seq, repo.BulkOptions{BatchSize: len(graphs)})
	if err == nil && res.Users != int64(len(graphs)) {
		err = fmt.Errorf("inserted %d users of %d", res.Users, len(graphs))
	}
	return err
}

func countAddresses(page repo.Page[repo.User]) int {
	n := 0
	for _, u := range page.Items {
		n += len(u.Addresses)
	}
	return n
}

func (p *inkwellPeer) listJoined(ctx context.Context, limit int) (int, error) {
	page, err := p.r.ListUsersWithAddresses(ctx, repo.UserQuery{Limit: limit}, repo.Joined)
	return countAddresses(page), err
}

func (p *inkwellPeer) listSelectIn(ctx context.Context, limit int) (int, error) {
	page, err := p.r.ListUsersWithAddresses(ctx, repo.UserQuery{Limit: limit}, repo.SelectIn)
	return countAddresses(page), err
}

func (p *inkwellPeer) listNaive(ctx context.Context, limit int) (int, error) {
	page, err := p.r.ListUsers(ctx, repo.UserQuery{Limit: limit})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range page.Items {
		addresses, err := p.r.ListAddresses(ctx, u.ID) // one query per user, as every peer's
		if err != nil {
			return 0, err
		}
		n += len(addresses)
	}
	return n, nil
}

func (p *inkwellPeer) pageWithPosts(ctx context.Context, afterID int64, limit int) (int, error) {
	// The first page: other peers take afterID 0 too.
	page, err := p.r.ListUsersWithPosts(ctx, repo.UserQuery{Limit: limit}, repo.Joined)
	n := 0
	for _, u := range page.Items {
		n += len(u.Posts)
	}
	return n, err
}

func (p *inkwellPeer) register(ctx context.Context, u user, emails []string) error {
	_, err := p.r.RegisterUser(ctx, repo.NewUser{Name: u.Name, Age: u.Age}, emails...)
	return err
}
