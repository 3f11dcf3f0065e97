package repo

import (
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
	defer wrote(ctx)
	if err := p.validate(); err != nil {
		return Post{}, fmt.Errorf("create post %q: %w", p.Title, err)
	}
	row, err := r.q.CreatePost(ctx, dbgen.CreatePostParams{
		UserID: p.UserID, Title: p.Title, Content: p.Content, Published: p.Published, Rating: p.Rating,
	})
	if err != nil {
		return Post{}, fmt.Errorf("create post %q for user %d: %w", p.Title, p.UserID, dbError(ctx, err))
	}
	return postFromDB(row), nil
}

// GetPost returns the post with its Author and Tags (by name), the tags loaded
// as s says; ErrNotFound if there is no such post.
func (r *Repo) GetPost(ctx context.Context, id int64, s Strategy) (Post, error) {
	return reading(ctx, r, func(r *Repo) (Post, error) {
		fail := func(err error) (Post, error) { return Post{}, fmt.Errorf("get post %d: %w", id, err) }
		if err := s.check(); err != nil {
			return fail(err)
		}
		if s == Joined {
			rows, err := r.q.GetPostWithAuthorAndTags(ctx, id)
			if err != nil {
				return fail(dbError(ctx, err))
			}
			posts := groupTags(rows)
			if len(posts) == 0 {
				return fail(ErrNotFound)
			}
			return posts[0], nil
		}
		row, err := r.q.GetPostWithAuthor(ctx, id)
		if err != nil {
			return fail(dbError(ctx, err))
		}
		posts := []Post{postWithAuthor(row.Post, row.User)}
		if err := r.attachTags(ctx, posts); err != nil {
			return fail(err)
		}
		return posts[0], nil
	})
}

// ListPosts returns a page of posts, oldest first, each with its Author and
// Tags, the tags loaded as s says: one round trip (Joined) or two (SelectIn).
// ErrInvalid for a bad limit or cursor.
func (r *Repo) ListPosts(ctx context.Context, q PostQuery, s Strategy) (Page[Post], error) {
	return reading(ctx, r, func(r *Repo) (Page[Post], error) {
		fail := func(err error) (Page[Post], error) { return Page[Post]{}, fmt.Errorf("list posts: %w", err) }
		limit, err := checkLimit(q.Limit)
		if err != nil {
			return fail(err)
		}
		after, err := decodeCursor(q.After, postOrder)
		if err != nil {
			return fail(err)
		}
		if err := s.check(); err != nil {
			return fail(err)
		}
		params := dbgen.ListPostsWithAuthorParams{
			UserID: q.UserID, Published: q.Published, AfterID: after.ID, MaxRows: int32(limit) + 1,
		}
		var posts []Post
		if s == Joined {
			rows, err := r.q.ListPostsWithAuthorAndTags(ctx, dbgen.ListPostsWithAuthorAndTagsParams(params))
			if err != nil {
				return fail(dbError(ctx, err))
			}
			posts = groupTags(convert(rows, func(r dbgen.ListPostsWithAuthorAndTagsRow) dbgen.GetPostWithAuthorAndTagsRow {
				return dbgen.GetPostWithAuthorAndTagsRow(r)
			}))
		} else {
			rows, err := r.q.ListPostsWithAuthor(ctx, params)
			if err != nil {
				return fail(dbError(ctx, err))
			}
			posts = convert(rows, func(r dbgen.ListPostsWithAuthorRow) Post { return postWithAuthor(r.Post, r.User) })
			if err := r.attachTags(ctx, posts); err != nil {
				return fail(err)
			}
		}
		if len(posts) <= limit {
			return Page[Post]{Items: posts}, nil
		}
		posts = posts[:limit]
		next := cursor{Order: postOrder, ID: posts[limit-1].ID}
		return Page[Post]{Items: posts, Next: next.encode()}, nil
	})
}

// UpdatePost changes the fields of patch that are set and returns the post as
// stored (without Author or Tags). ErrNotFound if there is no such post;
// ErrInvalid for a bad value.
func (r *Repo) UpdatePost(ctx context.Context, id int64, patch PostPatch) (Post, error) {
	defer wrote(ctx)
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
	row, err := r.q.UpdatePost(ctx, dbgen.UpdatePostParams{
		ID: id, Title: patch.Title, Content: patch.Content, Published: patch.Published, Rating: patch.Rating,
	})
	if err != nil {
		return fail(dbError(ctx, err))
	}
	return postFromDB(row), nil
}

// DeletePost deletes a post and its tag links. ErrNotFound if there is no
// such post.
func (r *Repo) DeletePost(ctx context.Context, id int64) error {
	defer wrote(ctx)
	n, err := r.q.DeletePost(ctx, id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete post %d: %w", id, dbError(ctx, err))
	}
	return nil
}

// TagPost puts tags on a post, creating tags that do not exist yet, in one
// transaction. Names are trimmed and lower-cased; tags the post already has
// are kept. It returns the tags named, sorted by name. ErrInvalid for a bad
// tag name; ErrNotFound if there is no such post.
func (r *Repo) TagPost(ctx context.Context, postID int64, names ...string) ([]Tag, error) {
	defer wrote(ctx)
	fail := func(err error) ([]Tag, error) { return nil, fmt.Errorf("tag post %d with %q: %w", postID, names, err) }
	norm, err := normalizeTags(names)
	if err != nil {
		return fail(err)
	}
	if len(norm) == 0 {
		return fail(invalid("tags", "", "none given"))
	}
	var tags []Tag
	err = r.inTx(ctx, func(q *dbgen.Queries) error {
		rows, err := q.UpsertTags(ctx, norm)
		if err != nil {
			return dbError(ctx, err)
		}
		tags = convert(rows, tagFromDB)
		ids := make([]int64, len(tags))
		for i, t := range tags {
			ids[i] = t.ID
		}
		return dbError(ctx, q.AddPostTags(ctx, dbgen.AddPostTagsParams{PostID: postID, TagIds: ids}))
	})
	if err != nil {
		return fail(err)
	}
	slices.SortFunc(tags, func(a, b Tag) int { return strings.Compare(a.Name, b.Name) })
	return tags, nil
}

// UntagPost takes tags off a post and returns how many it had. Tags
// themselves stay. ErrInvalid for a bad tag name.
func (r *Repo) UntagPost(ctx context.Context, postID int64, names ...string) (int64, error) {
	defer wrote(ctx)
	norm, err := normalizeTags(names)
	if err == nil {
		var n int64
		n, err = r.q.RemovePostTags(ctx, dbgen.RemovePostTagsParams{PostID: postID, Names: norm})
		if err == nil {
			return n, nil
		}
		err = dbError(ctx, err)
	}
	return 0, fmt.Errorf("untag post %d from %q: %w", postID, names, err)
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

// groupTags folds joined rows, ordered by post, into posts with their author
// and tags. A post without tags comes as one row with NULL tag columns.
func groupTags(rows []dbgen.GetPostWithAuthorAndTagsRow) []Post {
	var posts []Post
	for _, row := range rows {
		if len(posts) == 0 || posts[len(posts)-1].ID != row.Post.ID {
			p := postWithAuthor(row.Post, row.User)
			p.Tags = []Tag{}
			posts = append(posts, p)
		}
		if row.TagID != nil {
			last := &posts[len(posts)-1]
			last.Tags = append(last.Tags, Tag{ID: *row.TagID, Name: *row.TagName})
		}
	}
	return posts
}

// attachTags loads the tags of all posts in one query.
func (r *Repo) attachTags(ctx context.Context, posts []Post) error {
	if len(posts) == 0 {
		return nil
	}
	ids := make([]int64, len(posts))
	for i, p := range posts {
		ids[i] = p.ID
	}
	rows, err := r.q.ListTagsByPostIDs(ctx, ids)
	if err != nil {
		return dbError(ctx, err)
	}
	byPost := groupByParent(rows, func(r dbgen.ListTagsByPostIDsRow) int64 { return r.PostID },
		func(r dbgen.ListTagsByPostIDsRow) Tag { return tagFromDB(r.Tag) })
	for i := range posts {
		posts[i].Tags = nonNil(byPost[posts[i].ID])
	}
	return nil
}
