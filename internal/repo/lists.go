package repo

import (
	"context"
	"fmt"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// ListUsers returns a page of users filtered and ordered as q says.
// ErrInvalid for a bad order, limit, age range or cursor.
func (r *Repo) ListUsers(ctx context.Context, q UserQuery) (Page[User], error) {
	return reading(ctx, r, func(db *dbgen.Queries) (Page[User], error) {
		p, err := q.check()
		if err != nil {
			return Page[User]{}, fmt.Errorf("list users: %w", err)
		}
		users, err := listUsers(ctx, db, p)
		if err != nil {
			return Page[User]{}, fmt.Errorf("list users: %w", err)
		}
		return p.pageOf(users), nil
	})
}

// ListUsersWithAddresses returns a page of users, as ListUsers does, each with
// their addresses loaded as s says, in one round trip either way.
// ErrInvalid for a bad strategy, order, limit, age range or cursor.
func (r *Repo) ListUsersWithAddresses(ctx context.Context, q UserQuery, s Strategy) (Page[User], error) {
	page, err := listUsersWith(ctx, r, q, s,
		func(db *dbgen.Queries, p dbgen.ListUsersParams) ([]User, error) {
			rows, err := db.ListUsersWithAddresses(ctx, dbgen.ListUsersWithAddressesParams(p))
			return foldAddresses(convert(rows, func(r dbgen.ListUsersWithAddressesRow) dbgen.GetUserWithAddressesRow {
				return dbgen.GetUserWithAddressesRow(r)
			})), err
		},
		func(db *dbgen.Queries, users []User, p dbgen.ListUsersParams) error {
			rows, err := db.ListAddressesOfUserPage(ctx, dbgen.ListAddressesOfUserPageParams(p))
			attach(userAddresses, users, rows, func(a dbgen.Address) int64 { return a.UserID }, addressFromDB)
			return err
		})
	if err != nil {
		return Page[User]{}, fmt.Errorf("list users with addresses: %w", err)
	}
	return page, nil
}

// ListUsersWithPosts returns a page of users, as ListUsers does, each with
// their posts (oldest first, without Author or Tags) loaded as s says, in one
// round trip either way. ErrInvalid for a bad strategy, order, limit, age
// range or cursor.
func (r *Repo) ListUsersWithPosts(ctx context.Context, q UserQuery, s Strategy) (Page[User], error) {
	page, err := listUsersWith(ctx, r, q, s,
		func(db *dbgen.Queries, p dbgen.ListUsersParams) ([]User, error) {
			rows, err := db.ListUsersWithPosts(ctx, dbgen.ListUsersWithPostsParams(p))
			return fold(rows, userPosts, func(r dbgen.ListUsersWithPostsRow) int64 { return r.User.ID },
				func(r dbgen.ListUsersWithPostsRow) User { return userFromDB(r.User) },
				func(r dbgen.ListUsersWithPostsRow) (Post, bool) {
					if r.PostID == nil {
						return Post{}, false
					}
					return Post{ID: *r.PostID, UserID: r.User.ID, Title: *r.PostTitle, Content: *r.PostContent,
						Published: *r.PostPublished, Rating: *r.PostRating, CreatedAt: *r.PostCreatedAt}, true
				}), err
		},
		func(db *dbgen.Queries, users []User, p dbgen.ListUsersParams) error {
			rows, err := db.ListPostsOfUserPage(ctx, dbgen.ListPostsOfUserPageParams(p))
			attach(userPosts, users, rows, func(p dbgen.Post) int64 { return p.UserID }, postFromDB)
			return err
		})
	if err != nil {
		return Page[User]{}, fmt.Errorf("list users with posts: %w", err)
	}
	return page, nil
}

// listUsers runs the page query.
func listUsers(ctx context.Context, db *dbgen.Queries, p userPage) ([]User, error) {
	rows, err := db.ListUsers(ctx, p.params())
	if err != nil {
		return nil, dbError(ctx, err)
	}
	return convert(rows, func(r dbgen.ListUsersRow) User { return userFromDB(r.User) }), nil
}

// listUsersWith loads a page of users and their related rows: by the joined
// query, or by the page query and children's select-in query, which finds
// the page's children from the page's arguments, so that both go in one
// batch (seeing one snapshot: readingPipelined) and children attaches them.
func listUsersWith(ctx context.Context, r *Repo, q UserQuery, s Strategy,
	joined func(*dbgen.Queries, dbgen.ListUsersParams) ([]User, error),
	children func(*dbgen.Queries, []User, dbgen.ListUsersParams) error,
) (Page[User], error) {
	p, err := q.check()
	if err == nil {
		err = s.check()
	}
	if err != nil {
		return Page[User]{}, err
	}
	if s == Joined {
		return reading(ctx, r, func(db *dbgen.Queries) (Page[User], error) {
			users, err := joined(db, p.params())
			if err != nil {
				return Page[User]{}, dbError(ctx, err)
			}
			return p.pageOf(users), nil
		})
	}
	return readingPipelined(ctx, r, func(db *dbgen.Queries) (Page[User], error) {
		users, err := listUsers(ctx, db, p)
		// The children of the page only: not of the one more row the page
		// query reads to know whether there is a next page.
		cp := p.params()
		cp.MaxRows = int32(p.limit)
		if cerr := children(db, users, cp); err == nil && cerr != nil {
			err = dbError(ctx, cerr)
		}
		if err != nil {
			return Page[User]{}, err
		}
		return p.pageOf(users), nil
	})
}

// foldAddresses builds users with their addresses from joined rows.
func foldAddresses(rows []dbgen.GetUserWithAddressesRow) []User {
	return fold(rows, userAddresses, func(r dbgen.GetUserWithAddressesRow) int64 { return r.User.ID },
		func(r dbgen.GetUserWithAddressesRow) User { return userFromDB(r.User) },
		func(r dbgen.GetUserWithAddressesRow) (Address, bool) {
			if r.AddressID == nil {
				return Address{}, false
			}
			return Address{ID: *r.AddressID, UserID: r.User.ID, Email: *r.AddressEmail}, true
		})
}
