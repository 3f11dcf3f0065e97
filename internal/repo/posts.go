package repo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
	"github.com/inkwell-dev/inkwell/internal/keyset"
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
	return writeOne(ctx, r, p.validate(), func(q *dbgen.Queries) (dbgen.Post, error) {
		return q.CreatePost(ctx, dbgen.CreatePostParams{
			UserID: p.UserID, Title: p.Title, Content: p.Content, Published: p.Published, Rating: p.Rating,
		})
	}, postFromDB, "create post %q for user %d", short(p.Title), p.UserID)
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

// ListPosts returns a page of posts filtered as pq says, oldest first
// (newest first with pq.Desc), each with its Author and Tags, the tags
// loaded as s says, in one round trip either way. ErrInvalid for a bad
// strategy, limit, tag or cursor.
func (r *Repo) ListPosts(ctx context.Context, pq PostQuery, s Strategy) (Page[Post], error) {
	q, err := pq.query()
	if err != nil {
		return Page[Post]{}, fmt.Errorf("list posts: %w", err)
	}
	return listingWith(ctx, r, posts, postTagsChild, q, s, "list posts")
}

// postsList declares the lists of posts (ListPosts), each with its author
// joined in. Its one order is by id ("post", the name its cursors carry).
var postsList = keyset.New(keyset.Decl{
	Name:    "posts",
	Table:   "posts",
	Columns: postColumns,
	Tie:     []keyset.Key{{Column: "id", Type: keyset.Int64}},
	Orders:  []keyset.Order{{Name: postOrder}}, // posts_id_idx; by author, posts_pkey (user_id, id)
	Filters: []keyset.Filter{
		{Name: "user_id", SQL: "user_id = @user_id", Prefix: true},
		{Name: "published", SQL: "published = @published"},
		{Name: "tag", SQL: `EXISTS (SELECT FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
			WHERE pt.user_id = posts.user_id AND pt.post_id = posts.id AND t.name = @tag)`},
		{Name: "created_since", SQL: "created_at >= @created_since"},
	},
	Join:        postAuthorJoin,
	JoinColumns: postAuthorColumns,
	Children:    []keyset.Child{postTagsDecl},
})

// A list of posts with their authors and tags (postsList, feedList) joins
// and loads them so.
const (
	postAuthorJoin    = "JOIN users u ON u.id = page.user_id"
	postAuthorColumns = "u.id, u.name, u.age, u.created_at"
)

var postColumns = []string{"id", "user_id", "title", "content", "published", "rating", "created_at"}

var postTagsDecl = keyset.Child{Name: "tags", Table: "(post_tags pt JOIN tags c ON c.id = pt.tag_id)", Columns: "pt.post_id, c.id, c.name",
	On: "pt.user_id = page.user_id AND pt.post_id = page.id", JoinedOn: "pt.user_id = u.id AND pt.post_id = page.id",
	// By post id alone, through post_tags_post_id_idx (00016): with the
	// authors too, a generic plan seeks by author and filters the rest,
	// reading all of a prolific author's tags per page. A post id names one
	// post (ids come from one identity sequence; no constraint says so, as
	// the grouping of the children by post_id assumes too).
	In:  "pt.post_id = ANY (ARRAY(SELECT id FROM page))",
	Key: "pt.post_id", OrderBy: `c.name COLLATE "C"`}

// posts reads the rows of postsList, with their authors.
var posts = list[Post]{
	decl: postsList,
	dests: func(p *Post) []any {
		p.Author = &User{}
		return []any{&p.ID, &p.UserID, &p.Title, &p.Content, &p.Published, &p.Rating, &p.CreatedAt,
			&p.Author.ID, &p.Author.Name, &p.Author.Age, &p.Author.CreatedAt}
	},
	own: func(p *Post) {
		author := *p.Author
		p.Author = &author
	},
	column: func(p Post, col string) any {
		if col == "id" {
			return p.ID
		}
		panic("posts: no key column " + col)
	},
	id: func(p Post) int64 { return p.ID },
}

var postTagsChild = childOf(postsList, "tags", postTags)

// query checks pq and returns its query of postsList.
func (pq PostQuery) query() (keyset.Query, error) {
	var filters []keyset.Arg
	filters = withFilter(filters, "user_id", pq.UserID)
	filters = withFilter(filters, "published", pq.Published)
	if pq.Tag != "" {
		tag, err := normalizeTag(pq.Tag)
		if err != nil {
			return keyset.Query{}, err
		}
		filters = append(filters, keyset.Arg{Filter: "tag", Values: []any{tag}})
	}
	filters = withFilter(filters, "created_since", pq.CreatedSince)
	return keyset.Query{Order: postOrder, Desc: pq.Desc, Filters: filters, After: pq.After, Limit: pq.Limit}, nil
}

// UpdatePost changes the fields of patch that are set and returns the post as
// stored (without Author or Tags). ErrNotFound if there is no such post;
// ErrInvalid for a bad value.
func (r *Repo) UpdatePost(ctx context.Context, id int64, patch PostPatch) (Post, error) {
	check := cmp.Or(ifSet(patch.Title, func(t string) error { return checkRequired("title", t, MaxTitleLen) }),
		ifSet(patch.Content, func(c string) error { return checkText("content", c) }), ifSet(patch.Rating, checkRating))
	return writeOne(ctx, r, check, func(q *dbgen.Queries) (dbgen.Post, error) {
		return q.UpdatePost(ctx, dbgen.UpdatePostParams{
			ID: id, Title: patch.Title, Content: patch.Content, Published: patch.Published, Rating: patch.Rating,
		})
	}, postFromDB, "update post %d", id)
}

// DeletePost deletes a post and its tag links. ErrNotFound if there is no
// such post.
func (r *Repo) DeletePost(ctx context.Context, id int64) error {
	return deleteOne(ctx, r, func(q *dbgen.Queries) (int64, error) { return q.DeletePost(ctx, id) }, "delete post %d", id)
}

// TagPost puts tags on a post, creating tags that do not exist yet, in one
// statement (one round trip): all of it or nothing. Names are trimmed and lower-cased; tags the post already has
// are kept. It returns the tags named, sorted by name. ErrInvalid for a bad
// tag name; ErrNotFound if there is no such post.
//
// On Citus the links are written by a statement that only reads tags (a
// reference table), and tags not there yet are created first by a statement
// of their own (three round trips then): a transaction that writes tags and
// post_tags deadlocks with a shard move's switch-over (SCALING.md, "Growing
// under traffic"). A failure after that leaves the new tags, with no post.
// Inside InTx both statements are the transaction's: there a new tag and
// its links are written together again.
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
	citus, err := r.onCitus(ctx)
	if err != nil {
		return fail(err)
	}
	tag := r.tagInOneStatement
	if citus {
		tag = r.tagLinksOnly
	}
	tags, err := tag(ctx, postID, norm)
	if err != nil {
		return fail(dbError(ctx, err))
	}
	slices.SortFunc(tags, func(a, b Tag) int { return strings.Compare(a.Name, b.Name) })
	return tags, nil
}

// tagInOneStatement is TagPost on one server: tags and links in one statement.
func (r *Repo) tagInOneStatement(ctx context.Context, postID int64, names []string) ([]Tag, error) {
	rows, err := writing(ctx, r, func(q *dbgen.Queries) ([]dbgen.TagPostRow, error) {
		return q.TagPost(ctx, dbgen.TagPostParams{PostID: postID, Names: names})
	})
	if err == nil && len(rows) == 0 { // names are not empty: no post
		err = ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return convert(rows, func(t dbgen.TagPostRow) Tag { return tagFromDB(dbgen.Tag(t)) }), nil
}

// tagLinksOnly is TagPost on Citus: the links of the tags that exist; if
// some do not, they are created (a statement of its own) and the links
// written again (they are kept, ON CONFLICT DO NOTHING).
func (r *Repo) tagLinksOnly(ctx context.Context, postID int64, names []string) ([]Tag, error) {
	link := func() ([]Tag, error) {
		rows, err := writing(ctx, r, func(q *dbgen.Queries) ([]dbgen.LinkPostTagsRow, error) {
			return q.LinkPostTags(ctx, dbgen.LinkPostTagsParams{PostID: postID, Names: names})
		})
		if err == nil && len(rows) == 0 {
			err = ErrNotFound
		}
		tags := []Tag{}
		for _, row := range rows {
			if row.TagID != nil {
				tags = append(tags, Tag{ID: *row.TagID, Name: *row.TagName})
			}
		}
		return tags, err
	}
	tags, err := link()
	if err != nil || len(tags) == len(names) {
		return tags, err
	}
	if _, err := writing(ctx, r, func(q *dbgen.Queries) (struct{}, error) {
		return struct{}{}, q.CreateMissingTags(ctx, names)
	}); err != nil {
		return nil, err
	}
	if tags, err = link(); err == nil && len(tags) != len(names) {
		err = fmt.Errorf("%w: a tag was deleted while the post was tagged", ErrConflict)
	}
	return tags, err
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
