package repo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

const postOrder = "post" // the cursor's order for pages of posts

func (p NewPost) validate() error {
	if err := checkRequired("title", p.Title, MaxTitleLen); err != nil {
		return err
	}
	if err := checkText("content", p.Content); err != nil {
		return err
	}
	return checkRating(p.Rating)
}

// CreatePost stores a post by user p.UserID. ErrInvalid for a blank or
// over-long title, bad content or a rating outside 0-5; ErrNotFound if there
// is no such user.
func (r *Repo) CreatePost(ctx context.Context, p NewPost) (Post, error) {
	if err := p.validate(); err != nil {
		return Post{}, fmt.Errorf("create post %q: %w", short(p.Title), err)
	}
	row, err := writing(ctx, r, func(q *dbgen.Queries) (dbgen.Post, error) {
		return q.CreatePost(ctx, dbgen.CreatePostParams{
			UserID: p.UserID, Title: p.Title, Content: p.Content, Published: p.Published, Rating: p.Rating,
		})
	})
	if err != nil {
		return Post{}, fmt.Errorf("create post %q for user %d: %w", short(p.Title), p.UserID, dbError(ctx, err))
	}
	return postFromDB(row), nil
}

// GetPost returns the post with its Author and Tags (by name), the tags loaded
// as s says, in one round trip either way; ErrNotFound if there is no such
// post, ErrInvalid for a bad strategy.
func (r *Repo) GetPost(ctx context.Context, id int64, s Strategy) (Post, error) {
	fail := func(err error) (Post, error) { return Post{}, fmt.Errorf("get post %d: %w", id, err) }
	if err := s.check(); err != nil {
		return fail(err)
	}
	if s == SelectIn { // both queries are known up front: one batch
		return readingPipelined(ctx, r, func(q *dbgen.Queries) (Post, error) {
			row, err := q.GetPostWithAuthor(ctx, id)
			tags, terr := q.ListTagsByPostIDs(ctx, []int64{id})
			if err = cmp.Or(err, terr); err != nil {
				return fail(dbError(ctx, err))
			}
			post := postWithAuthor(row.Post, row.User)
			post.Tags = nonNil(convert(tags, func(r dbgen.ListTagsByPostIDsRow) Tag { return tagFromDB(r.Tag) }))
			return post, nil
		})
	}
	return reading(ctx, r, func(q *dbgen.Queries) (Post, error) {
		rows, err := q.GetPostWithAuthorAndTags(ctx, id)
		if err != nil {
			return fail(dbError(ctx, err))
		}
		posts := foldTags(rows)
		if len(posts) == 0 {
			return fail(ErrNotFound)
		}
		return posts[0], nil
	})
}

// ListPosts returns a page of posts, oldest first (newest first with
// q.Desc), each with its Author and Tags, the tags loaded as s says, in one
// round trip either way. ErrInvalid for a bad strategy, limit or cursor.
func (r *Repo) ListPosts(ctx context.Context, pq PostQuery, s Strategy) (Page[Post], error) {
	fail := func(err error) (Page[Post], error) { return Page[Post]{}, fmt.Errorf("list posts: %w", err) }
	limit, err := checkLimit(pq.Limit)
	if err != nil {
		return fail(err)
	}
	order := cursor{Order: postOrder, Desc: pq.Desc}
	after, err := decodeCursor(pq.After, order)
	if err != nil {
		return fail(err)
	}
	if err := s.check(); err != nil {
		return fail(err)
	}
	params := dbgen.ListPostsWithAuthorParams{
		Descending: pq.Desc, UserID: pq.UserID, Published: pq.Published, MaxRows: int32(limit) + 1,
	}
	if after != nil {
		params.AfterID = &after.ID
	}
	page := func(posts []Post) Page[Post] {
		return pageOf(posts, limit, func(last Post) cursor {
			next := order
			next.ID = last.ID
			return next
		})
	}
	if s == Joined {
		return reading(ctx, r, func(q *dbgen.Queries) (Page[Post], error) {
			rows, err := q.ListPostsWithAuthorAndTags(ctx, dbgen.ListPostsWithAuthorAndTagsParams(params))
			if err != nil {
				return fail(dbError(ctx, err))
			}
			return page(foldTags(convert(rows, func(r dbgen.ListPostsWithAuthorAndTagsRow) dbgen.GetPostWithAuthorAndTagsRow {
				return dbgen.GetPostWithAuthorAndTagsRow(r)
			}))), nil
		})
	}
	// The tags' query finds the page from the same arguments (the page only,
	// not the one more row that says whether there is a next page), so that
	// both go in one batch, seeing one snapshot.
	tp := dbgen.ListTagsOfPostPageParams(params)
	tp.MaxRows = int32(limit)
	return readingPipelined(ctx, r, func(q *dbgen.Queries) (Page[Post], error) {
		rows, err := q.ListPostsWithAuthor(ctx, params)
		tags, terr := q.ListTagsOfPostPage(ctx, tp)
		if err = cmp.Or(err, terr); err != nil {
			return fail(dbError(ctx, err))
		}
		posts := convert(rows, func(r dbgen.ListPostsWithAuthorRow) Post { return postWithAuthor(r.Post, r.User) })
		attach(postTags, posts, tags, func(r dbgen.ListTagsOfPostPageRow) int64 { return r.PostID },
			func(r dbgen.ListTagsOfPostPageRow) Tag { return tagFromDB(r.Tag) })
		return page(posts), nil
	})
}

// UpdatePost changes the fields of patch that are set and returns the post as
// stored (without Author or Tags). ErrNotFound if there is no such post;
// ErrInvalid for a bad value.
func (r *Repo) UpdatePost(ctx context.Context, id int64, patch PostPatch) (Post, error) {
	fail := func(err error) (Post, error) { return Post{}, fmt.Errorf("update post %d: %w", id, err) }
	if patch.Title != nil {
		if err := checkRequired("title", *patch.Title, MaxTitleLen); err != nil {
			return fail(err)
		}
	}
	if patch.Content != nil {
		if err := checkText("content", *patch.Content); err != nil {
			return fail(err)
		}
	}
	if patch.Rating != nil {
		if err := checkRating(*patch.Rating); err != nil {
			return fail(err)
		}
	}
	row, err := writing(ctx, r, func(q *dbgen.Queries) (dbgen.Post, error) {
		return q.UpdatePost(ctx, dbgen.UpdatePostParams{
			ID: id, Title: patch.Title, Content: patch.Content, Published: patch.Published, Rating: patch.Rating,
		})
	})
	if err != nil {
		return fail(dbError(ctx, err))
	}
	return postFromDB(row), nil
}

// DeletePost deletes a post and its tag links. ErrNotFound if there is no
// such post.
func (r *Repo) DeletePost(ctx context.Context, id int64) error {
	n, err := writing(ctx, r, func(q *dbgen.Queries) (int64, error) { return q.DeletePost(ctx, id) })
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete post %d: %w", id, dbError(ctx, err))
	}
	return nil
}

// TagPost puts tags on a post, creating tags that do not exist yet, in one
// statement (one round trip): all of it or nothing. Names are trimmed and lower-cased; tags the post already has
// are kept. It returns the tags named, sorted by name. ErrInvalid for a bad
// tag name; ErrNotFound if there is no such post.
func (r *Repo) TagPost(ctx context.Context, postID int64, names ...string) ([]Tag, error) {
	fail := func(err error) ([]Tag, error) {
		return nil, fmt.Errorf("tag post %d with %s: %w", postID, shortList(names), err)
	}
	norm, err := normalizeTags(names)
	if err != nil {
		return fail(err)
	}
	if len(norm) == 0 {
		return fail(invalid("tags", "", "none given"))
	}
	rows, err := writing(ctx, r, func(q *dbgen.Queries) ([]dbgen.TagPostRow, error) {
		return q.TagPost(ctx, dbgen.TagPostParams{PostID: postID, Names: norm})
	})
	if err == nil && len(rows) == 0 { // names are not empty: no post
		err = ErrNotFound
	}
	if err != nil {
		return fail(dbError(ctx, err))
	}
	tags := convert(rows, func(t dbgen.TagPostRow) Tag { return tagFromDB(dbgen.Tag(t)) })
	slices.SortFunc(tags, func(a, b Tag) int { return strings.Compare(a.Name, b.Name) })
	return tags, nil
}

// UntagPost takes tags off a post and returns how many it had. Tags
// themselves stay. ErrInvalid for a bad tag name.
func (r *Repo) UntagPost(ctx context.Context, postID int64, names ...string) (int64, error) {
	norm, err := normalizeTags(names)
	if err == nil {
		var n int64
		n, err = writing(ctx, r, func(q *dbgen.Queries) (int64, error) {
			return q.RemovePostTags(ctx, dbgen.RemovePostTagsParams{PostID: postID, Names: norm})
		})
		if err == nil {
			return n, nil
		}
		err = dbError(ctx, err)
	}
	return 0, fmt.Errorf("untag post %d from %s: %w", postID, shortList(names), err)
}

// normalizeTags checks and normalises names, sorted and without repeats
// (sorted so that concurrent taggers lock tag rows in the same order).
func normalizeTags(names []string) ([]string, error) {
	norm := make([]string, 0, len(names))
	for _, n := range names {
		t, err := normalizeTag(n)
		if err != nil {
			return nil, err
		}
		norm = append(norm, t)
	}
	slices.Sort(norm)
	return slices.Compact(norm), nil
}

func postWithAuthor(p dbgen.Post, author dbgen.User) Post {
	post := postFromDB(p)
	u := userFromDB(author)
	post.Author = &u
	return post
}

// foldTags builds posts with their author and tags from joined rows. A post
// without tags comes as one row with NULL tag columns.
func foldTags(rows []dbgen.GetPostWithAuthorAndTagsRow) []Post {
	return fold(rows, postTags, func(r dbgen.GetPostWithAuthorAndTagsRow) int64 { return r.Post.ID },
		func(r dbgen.GetPostWithAuthorAndTagsRow) Post { return postWithAuthor(r.Post, r.User) },
		func(r dbgen.GetPostWithAuthorAndTagsRow) (Tag, bool) {
			if r.TagID == nil {
				return Tag{}, false
			}
			return Tag{ID: *r.TagID, Name: *r.TagName}, true
		})
}
