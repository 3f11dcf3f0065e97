package repo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
	"github.com/inkwell-dev/inkwell/internal/keyset"
)

// Follows: a relation between two users. Each edge is two rows, follows on
// the follower's rows and followers on the followee's (migration 00013), so
// that on Citus every list of either is routed to one shard; Follow and
// Unfollow write both in one transaction, DeleteUser deletes both.

// Edge is one user following another since CreatedAt.
type Edge struct {
	FollowerID int64
	FolloweeID int64
	CreatedAt  time.Time
}

// FollowQuery selects a page of a user's edges or feed, newest first.
type FollowQuery struct {
	Limit int    // 0: DefaultPageSize; at most MaxPageSize
	After string // Page.Next of the previous page; "": first page
}

// newest is the order of the lists of follows, followers and feed:
// created_at descending, ties by the other key descending.
const newest = "created_at"

// Follow makes follower follow followee, in one round trip (one
// transaction: the edge's row with each user). Following again is no error
// and keeps the first CreatedAt. ErrInvalid if they are the same user;
// ErrNotFound if either user does not exist. Nothing is written on error.
func (r *Repo) Follow(ctx context.Context, followerID, followeeID int64) error {
	return writeEdge(ctx, r, followerID, followeeID, func(q *dbgen.Queries) error {
		err := q.CreateFollower(ctx, dbgen.CreateFollowerParams{FolloweeID: followeeID, FollowerID: followerID})
		return cmp.Or(err, q.CreateFollow(ctx, dbgen.CreateFollowParams{FollowerID: followerID, FolloweeID: followeeID}))
	}, "user %d follow user %d")
}

// Unfollow ends follower's following of followee, in one round trip; not
// following is no error. ErrInvalid if they are the same user.
func (r *Repo) Unfollow(ctx context.Context, followerID, followeeID int64) error {
	return writeEdge(ctx, r, followerID, followeeID, func(q *dbgen.Queries) error {
		err := q.DeleteFollower(ctx, dbgen.DeleteFollowerParams{FolloweeID: followeeID, FollowerID: followerID})
		return cmp.Or(err, q.DeleteFollow(ctx, dbgen.DeleteFollowParams{FollowerID: followerID, FolloweeID: followeeID}))
	}, "user %d unfollow user %d")
}

// writeEdge checks the edge, then writes both its rows, the followers row
// first, after a shared lock on both users that DeleteUser waits for
// (LockEdgeUsers: on Citus the two rows commit on two nodes), in one
// pipeline (BEGIN and COMMIT with them: one round trip, one transaction),
// every error wrapped as what says with both ids. (Not writeOne: no row
// comes back, and the retry goes around writing, as in DeleteUser.) Follow
// and Unfollow are safe to run again: a deadlock with the deletes of users
// (a cycle of several edges) is retried.
func writeEdge(ctx context.Context, r *Repo, followerID, followeeID int64, body func(q *dbgen.Queries) error, what string) error {
	err := checkEdge(followerID, followeeID)
	if err == nil {
		_, err = retryDeadlocks(ctx, r, func() (struct{}, error) {
			return writing(ctx, r, func(*dbgen.Queries) (struct{}, error) {
				return pipelined(ctx, r.handle(), func(q *dbgen.Queries) (struct{}, error) {
					err := q.LockEdgeUsers(ctx, dbgen.LockEdgeUsersParams{FollowerID: followerID, FolloweeID: followeeID})
					return struct{}{}, cmp.Or(err, body(q))
				})
			})
		})
		if err != nil {
			err = dbError(ctx, err)
		}
	}
	if err != nil {
		return fmt.Errorf(what+": %w", followerID, followeeID, err)
	}
	return nil
}

func checkEdge(followerID, followeeID int64) error {
	if followerID == followeeID {
		return invalid("followee", strconv.FormatInt(followeeID, 10), "is the follower: a user cannot follow themselves")
	}
	return nil
}

// deleteEdges is DeleteUser's part, sent in its pipeline between the lock
// of the user and the delete: the rows of the user's edges that live with
// the other users (on Citus no foreign key reaches them). Every edge's
// followers row is locked before its follows row, as Follow and Unfollow
// write them, so that none of those deadlocks with a delete. Two deletes of
// users who follow each other can (each takes the rows of its own edges
// first), and an Unfollow with them: the loser runs again (retryDeadlocks).
func deleteEdges(ctx context.Context, q *dbgen.Queries, userID int64) error {
	return cmp.Or(q.LockFollowersOfUser(ctx, userID),
		q.DeleteFollowsOfFollowee(ctx, userID),
		q.DeleteFollowersOfFollower(ctx, userID))
}

// retryDeadlocks runs write, a write of one statement or pipeline that is
// safe to run again, once more when it lost a deadlock or a serialization
// failure, with InTx's backoff, up to InTx's default number of attempts.
// write goes through writing, which already runs such a write up to
// writeAttempts times: so at most attempts x writeAttempts runs in all
// (bounded, and safe: a lost deadlock wrote nothing). Inside a transaction
// it runs once: the transaction is aborted, and its InTx retries it.
func retryDeadlocks[T any](ctx context.Context, r *Repo, write func() (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		v, err := write()
		if err == nil || r.tx != nil || attempt >= (TxOptions{}).attempts() || !errors.Is(dbError(ctx, err), ErrSerialization) {
			return v, err
		}
		if werr := sleep(ctx, backoff(attempt)); werr != nil {
			return v, err
		}
	}
}

// ListFollowing returns a page of the users userID follows, newest edge
// first, in one round trip (on Citus, to userID's shard). ErrInvalid for a
// bad limit or cursor.
func (r *Repo) ListFollowing(ctx context.Context, userID int64, q FollowQuery) (Page[Edge], error) {
	return listing(ctx, r, following, q.query(followingList, userID), "list following of user %d", userID)
}

// ListFollowers returns a page of the users who follow userID, newest edge
// first, in one round trip (on Citus, to userID's shard). ErrInvalid for a
// bad limit or cursor.
func (r *Repo) ListFollowers(ctx context.Context, userID int64, q FollowQuery) (Page[Edge], error) {
	return listing(ctx, r, followers, q.query(followersList, userID), "list followers of user %d", userID)
}

// query returns q's query of l, a list of one user's rows, newest first:
// its one filter, required, is the user's.
func (q FollowQuery) query(l *keyset.List, userID int64) keyset.Query {
	return keyset.Query{Order: newest, Desc: true, After: q.After, Limit: q.Limit,
		Filters: []keyset.Arg{{Filter: l.Filters()[0], Values: []any{userID}}}}
}

// edgesList declares a list of one user's edges (table follows or
// followers; its user_id selected as the Edge's field user, the other user
// in column other), newest first: its index is (user_id, created_at, other).
func edgesList(name, table, user, other string) *keyset.List {
	return keyset.New(keyset.Decl{
		Name:    name,
		Table:   table,
		Columns: []string{"user_id AS " + user, other, "created_at"},
		Tie:     []keyset.Key{{Column: other, Type: keyset.Int64}},
		Orders:  []keyset.Order{{Name: newest, Keys: []keyset.Key{{Column: "created_at", Type: keyset.Time}}}},
		Filters: []keyset.Filter{{Name: "user_id", SQL: "user_id = @user_id", Prefix: true, Required: true}},
	})
}

var (
	followingList = edgesList("following", "follows", "follower_id", "followee_id")   // follows_user_id_created_at_idx
	followersList = edgesList("followers", "followers", "followee_id", "follower_id") // followers_user_id_created_at_idx
	following     = listOf[Edge](followingList)
	followers     = listOf[Edge](followersList)
)
