package main

import (
	"context"
	"errors"
	"fmt"
)

// A peer is one data layer doing the benchmark's operations on the same
// schema (inkwell's migrations), through a pool of the same size.
type peer interface {
	name() string
	// open connects; db carries the pool size and the round-trip tracer.
	open(ctx context.Context, db *database) error
	close()

	insertUser(ctx context.Context, u user) (int64, error)
	getUser(ctx context.Context, id int64) error
	updateAge(ctx context.Context, id int64, age int32) error
	// bulkUsers inserts with the peer's best bulk path; bulkUsersNaive one
	// INSERT per row, in one transaction.
	bulkUsers(ctx context.Context, users []user) error
	bulkUsersNaive(ctx context.Context, users []user) error
	// bulkGraph inserts users with their addresses: the addresses need the
	// users' ids.
	bulkGraph(ctx context.Context, graphs []graph) error
	// The list operations load the first limit users by id with their
	// addresses and return how many addresses they loaded.
	listJoined(ctx context.Context, limit int) (int, error)
	listSelectIn(ctx context.Context, limit int) (int, error)
	listNaive(ctx context.Context, limit int) (int, error)
	// pageWithPosts loads the keyset page of users after afterID with their
	// posts and returns how many posts.
	pageWithPosts(ctx context.Context, afterID int64, limit int) (int, error)
	// register inserts a user and their emails in one transaction; an email
	// registered already must fail it and leave nothing.
	register(ctx context.Context, u user, emails []string) error
}

// errUnsupported: the peer has no way to do the operation at all (not just
// no fast way).
var errUnsupported = errors.New("not supported")

type user struct {
	Name string
	Age  int32
}

type graph struct {
	User   user
	Emails []string
}

func makeUsers(n int, tag string) []user {
	users := make([]user, n)
	for i := range users {
		users[i] = user{Name: fmt.Sprintf("User %s %d", tag, i), Age: int32(18 + i%70)}
	}
	return users
}

func makeGraphs(n int, tag string) []graph {
	graphs := make([]graph, n)
	for i, u := range makeUsers(n, tag) {
		graphs[i] = graph{User: u, Emails: []string{
			fmt.Sprintf("u%s.%d@example.com", tag, i), fmt.Sprintf("u%s.%d@work.example", tag, i)}}
	}
	return graphs
}
