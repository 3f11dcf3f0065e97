package repo

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// UserGraph is a user with everything that hangs off them, for
// BulkInsertGraphs.
type UserGraph struct {
	User    NewUser
	Emails  []string
	Profile *GraphProfile // nil: no profile
	Posts   []GraphPost
	// Rows are rows of the user's own tables, declared in the load's
	// options (BulkOptions.Tables, InitialLoadOptions.Tables), loaded with
	// the graph; their values may refer to the graph's user and posts (Ref).
	Rows []TableRow
}

// GraphProfile is the profile of a UserGraph.
type GraphProfile struct {
	Bio     string
	Website *string
}

// GraphPost is a post of a UserGraph, with the names of its tags (created
// when they do not exist yet).
type GraphPost struct {
	Title     string
	Content   string
	Published bool
	Rating    float64
	Tags      []string
}

// BulkInsertGraphs inserts users with their addresses, profiles, posts and
// post tags, all with COPY, reading them from graphs as it goes, so memory
// stays flat however many there are. Each batch reserves the ids it needs in
// one round trip, then loads the tables in foreign-key order.
//
// Each batch is all or nothing (or the whole load, with OneTransaction).
// A bad row fails its batch with a *RowError naming the row's position:
// validation catches malformed values and emails repeated within the batch
// (ErrInvalid, ErrConflict) before any of the batch is sent; the database
// catches emails registered already (ErrConflict). The rows of the tables
// opts.Tables declares (UserGraph.Rows, see ExtraTable) go in the same
// transaction as their users, a COPY per table after the repository's; a
// declaration the catalog refuses fails the first batch (ErrInvalid), so
// nothing is written. An error from graphs, or
// ctx ending, stops the load the same way. The result counts what was
// committed before the error.
func (r *Repo) BulkInsertGraphs(ctx context.Context, graphs iter.Seq2[UserGraph, error], opts BulkOptions) (BulkResult, error) {
	defer wrote(ctx)
	size, err := opts.batchSize()
	if err != nil {
		return BulkResult{}, fmt.Errorf("bulk insert graphs: %w", err)
	}
	if err := checkTables(opts.Tables); err != nil {
		return BulkResult{}, fmt.Errorf("bulk insert graphs: %w", err)
	}
	b := graphBatch{emails: newBatchEmails(size), tables: opts.Tables, declared: declared(opts.Tables)}
	res, err := batches(ctx, r, graphs, opts, b.check, b.insert)
	if err != nil {
		return res, fmt.Errorf("bulk insert graphs: %w", err)
	}
	return res, nil
}

// graphBatch checks graphs as they arrive and inserts a batch of them.
type graphBatch struct {
	emails batchEmails
	// The declared tables (BulkOptions.Tables, InitialLoadOptions.Tables),
	// by name; described from the catalog by the first batch.
	tables    []ExtraTable
	declared  map[string]int
	described []extraTable
	order     []int   // described's indexes in the order they are copied in
	users     []int64 // the ids of the users loaded, by position (from 1), for UserBefore
}

func (b *graphBatch) check(position int64, g UserGraph) error {
	b.emails.row(position)
	if err := g.User.validate(); err != nil {
		return err
	}
	for _, e := range g.Emails {
		if err := checkEmail(e); err != nil {
			return err
		}
		if err := b.emails.add(position, e); err != nil {
			return err
		}
	}
	if g.Profile != nil {
		if err := checkBio(g.Profile.Bio); err != nil {
			return err
		}
		if err := checkWebsite(g.Profile.Website); err != nil {
			return err
		}
	}
	for _, p := range g.Posts {
		if err := (NewPost{Title: p.Title, Content: p.Content, Rating: p.Rating}).validate(); err != nil {
			return err
		}
		for _, t := range p.Tags {
			if _, err := normalizeTag(t); err != nil {
				return err
			}
		}
	}
	if len(g.Rows) > 0 {
		return checkRows(g, position, b.tables, b.declared)
	}
	return nil
}

// insert writes one batch; first is the position of graphs[0].
func (b *graphBatch) insert(ctx context.Context, tx *Repo, first int64, graphs []UserGraph) (BulkResult, error) {
	q := tx.queries()

	names := map[string]bool{}
	for _, g := range graphs {
		for _, p := range g.Posts {
			for _, t := range p.Tags {
				names[normalizedTag(t)] = true
			}
		}
	}
	tagIDs, err := batchTags(ctx, tx, slices.Sorted(maps.Keys(names)))
	if err != nil {
		return BulkResult{}, dbError(ctx, err)
	}

	var nAddresses, nPosts int
	for _, g := range graphs {
		nAddresses += len(g.Emails)
		nPosts += len(g.Posts)
	}
	ids, err := q.ReserveIDs(ctx, dbgen.ReserveIDsParams{
		Users: int32(len(graphs)), Addresses: int32(nAddresses), Posts: int32(nPosts),
	})
	if err != nil {
		return BulkResult{}, dbError(ctx, err)
	}

	// The rows of each table, and for each row the index of its graph, to
	// name the input row when the database refuses one.
	users := make([]dbgen.CopyUsersWithIDsParams, len(graphs))
	addresses := make([]dbgen.CopyAddressesParams, 0, nAddresses)
	addressOwners := make([]int32, 0, nAddresses)
	emailOwners := make([]dbgen.CopyEmailOwnersParams, 0, nAddresses) // one per address, in its order
	var profiles []dbgen.CopyProfilesParams
	var profileOwners []int32
	posts := make([]dbgen.CopyPostsParams, 0, nPosts)
	postOwners := make([]int32, 0, nPosts)
	var postTags []dbgen.CopyPostTagsParams
	var postTagOwners []int32
	for i, g := range graphs {
		owner := int32(i)
		userID := ids.UserIds[i]
		users[i] = dbgen.CopyUsersWithIDsParams{ID: userID, Name: g.User.Name, Age: g.User.Age}
		for _, e := range g.Emails {
			addressID := ids.AddressIds[len(addresses)]
			addresses = append(addresses, dbgen.CopyAddressesParams{ID: addressID, UserID: userID, Email: e})
			emailOwners = append(emailOwners, dbgen.CopyEmailOwnersParams{EmailKey: emailKey(e), UserID: userID, AddressID: addressID})
			addressOwners = append(addressOwners, owner)
		}
		if g.Profile != nil {
			profiles = append(profiles, dbgen.CopyProfilesParams{UserID: userID, Bio: g.Profile.Bio, Website: g.Profile.Website})
			profileOwners = append(profileOwners, owner)
		}
		for _, p := range g.Posts {
			postID := ids.PostIds[len(posts)]
			posts = append(posts, dbgen.CopyPostsParams{ID: postID, UserID: userID, Title: p.Title,
				Content: p.Content, Published: p.Published, Rating: p.Rating})
			postOwners = append(postOwners, owner)
			for _, tagID := range postTagIDs(p.Tags, tagIDs) {
				postTags = append(postTags, dbgen.CopyPostTagsParams{UserID: userID, PostID: postID, TagID: tagID})
				postTagOwners = append(postTagOwners, owner)
			}
		}
	}

	// Every table's COPY is a step; a table with no rows in this batch is
	// skipped, since an empty COPY is a round trip that writes nothing.
	var res BulkResult
	var owners int64 // email_owners is internal: not counted in the result
	steps := []struct {
		table  string
		rows   int
		owners []int32 // nil: line i of the COPY is row i of the batch
		count  *int64
		copy   func() (int64, error)
		key    func(i int) string // row i's key, as a violation's detail shows it (copyKeyError); nil: none refusable
	}{
		{"users", len(users), nil, &res.Users, func() (int64, error) { return q.CopyUsersWithIDs(ctx, users) }, nil},
		{"addresses", len(addresses), addressOwners, &res.Addresses, func() (int64, error) { return q.CopyAddresses(ctx, addresses) }, nil},
		// An email registered already: on Citus the error has no line, only
		// the key.
		{"email_owners", len(emailOwners), addressOwners, &owners, func() (int64, error) { return q.CopyEmailOwners(ctx, emailOwners) },
			func(i int) string { return "(email_key)=(" + emailOwners[i].EmailKey + ")" }},
		{"profiles", len(profiles), profileOwners, &res.Profiles, func() (int64, error) { return q.CopyProfiles(ctx, profiles) }, nil},
		{"posts", len(posts), postOwners, &res.Posts, func() (int64, error) { return q.CopyPosts(ctx, posts) }, nil},
		{"post_tags", len(postTags), postTagOwners, &res.PostTags, func() (int64, error) { return q.CopyPostTags(ctx, postTags) }, nil},
	}
	for _, s := range steps {
		if s.rows == 0 {
			continue
		}
		n, err := s.copy()
		if err != nil && s.key != nil {
			return BulkResult{}, copyKeyError(ctx, err, s.table, first, s.owners, s.rows, s.key)
		}
		if err != nil {
			return BulkResult{}, copyError(ctx, err, s.table, first, s.owners)
		}
		*s.count = n
	}
	if len(b.tables) > 0 {
		n, err := b.insertRows(ctx, tx.tx, first, graphs, ids.UserIds, ids.PostIds)
		if err != nil {
			return BulkResult{}, err
		}
		res.Extra = n
	}
	return res, nil
}

// batchTags gets or creates the tags of a batch and returns their ids by
// name. On Citus it writes tags (a reference table) only when some are new:
// a transaction that writes tags and post_tags deadlocks with a shard
// move's switch-over (see TagPost), so the usual batch, whose tags all
// exist, only reads them.
func batchTags(ctx context.Context, tx *Repo, names []string) (map[string]int64, error) {
	ids := make(map[string]int64, len(names))
	if len(names) == 0 {
		return ids, nil
	}
	q := tx.queries()
	citus, err := tx.onCitus(ctx)
	if err != nil {
		return nil, err
	}
	missing := names
	if citus {
		tags, err := q.GetTagsByName(ctx, names)
		if err != nil {
			return nil, err
		}
		for _, t := range tags {
			ids[t.Name] = t.ID
		}
		missing = slices.DeleteFunc(slices.Clone(names), func(n string) bool { _, ok := ids[n]; return ok })
	}
	if len(missing) > 0 {
		tags, err := q.UpsertTags(ctx, missing)
		if err != nil {
			return nil, err
		}
		for _, t := range tags {
			ids[t.Name] = t.ID
		}
	}
	return ids, nil
}

// postTagIDs returns the ids of a post's tags, each once.
func postTagIDs(names []string, ids map[string]int64) []int64 {
	out := make([]int64, 0, len(names))
	for _, n := range names {
		id := ids[normalizedTag(n)]
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// BulkCreatePosts inserts posts of users who exist already, with COPY,
// reading them from posts as it goes. Batches, results and errors are as for
// BulkInsertGraphs; a post whose user does not exist fails its batch with a
// *RowError matching ErrNotFound.
func (r *Repo) BulkCreatePosts(ctx context.Context, posts iter.Seq2[NewPost, error], opts BulkOptions) (BulkResult, error) {
	defer wrote(ctx)
	res, err := batches(ctx, r, posts, opts,
		func(_ int64, p NewPost) error { return p.validate() },
		func(ctx context.Context, tx *Repo, first int64, posts []NewPost) (BulkResult, error) {
			params := make([]dbgen.CopyPostsOfUsersParams, len(posts))
			for i, p := range posts {
				params[i] = dbgen.CopyPostsOfUsersParams{UserID: p.UserID, Title: p.Title,
					Content: p.Content, Published: p.Published, Rating: p.Rating}
			}
			n, err := tx.queries().CopyPostsOfUsers(ctx, params)
			if err != nil {
				// Foreign keys are checked at the end of the COPY, so the
				// error has no line: the post is found by the user it names.
				return BulkResult{}, copyKeyError(ctx, err, "posts", first, nil, len(posts), func(i int) string {
					return "(user_id)=(" + strconv.FormatInt(posts[i].UserID, 10) + ")"
				})
			}
			return BulkResult{Posts: n}, nil
		})
	if err != nil {
		return res, fmt.Errorf("bulk create posts: %w", err)
	}
	return res, nil
}
