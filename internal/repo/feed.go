package repo

import (
	"context"

	"github.com/inkwell-dev/inkwell/internal/keyset"
)

// feedList declares the feed: the published posts of the users someone
// follows, newest first, with their authors and tags as ListPosts has them.
// Its filter reads the followees from the follower's rows into an array,
// and the posts by one probe of posts_published_user_id_created_at_idx per
// followee (user_id = ANY, then the page's top-N sort). On Citus, whose
// shards cannot join follows (by follower) to posts (by author), the
// coordinator runs the subquery first, on the follower's shard, and sends
// its ids to every shard of posts with the page's ORDER BY and LIMIT: one
// round trip for the caller, a fan-out behind it. (As an array: written
// IN (SELECT ...), each shard read the ids as a table of unknown size and
// hash-joined them to a sequential scan of its posts.)
var feedList = keyset.New(keyset.Decl{
	Name:    "feed",
	Table:   "posts",
	Columns: postColumns,
	Tie:     []keyset.Key{{Column: "id", Type: keyset.Int64}},
	Orders:  []keyset.Order{{Name: newest, Keys: []keyset.Key{{Column: "created_at", Type: keyset.Time}}}},
	Filters: []keyset.Filter{{Name: "followed_by",
		SQL:    "published AND user_id = ANY (ARRAY(SELECT f.followee_id FROM follows f WHERE f.user_id = @follower_id))",
		Prefix: true, Required: true}},
	Join:        postAuthorJoin,
	JoinColumns: postAuthorColumns,
	Children:    []keyset.Child{postTagsDecl},
})

// feedPosts reads the rows of feedList, as posts reads postsList's (not
// listOf: the Author a Post points to is no field of its own to scan into).
var feedPosts = list[Post]{
	decl: feedList, dests: posts.dests, own: posts.own, id: posts.id,
	column: func(p Post, col string) any {
		if col == "created_at" {
			return p.CreatedAt
		}
		return p.ID
	},
}

// ListFeed returns a page of the published posts of the users userID
// follows, newest first, each with its Author and Tags, the tags loaded as s
// says, in one round trip either way. ErrInvalid for a bad strategy, limit
// or cursor.
func (r *Repo) ListFeed(ctx context.Context, userID int64, q FollowQuery, s Strategy) (Page[Post], error) {
	return listingWith(ctx, r, feedPosts, postTagsChild, q.query(feedList, userID), s, "list feed of user %d", userID)
}
