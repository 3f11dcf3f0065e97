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
// their addresses loaded as s says: one round trip (Joined) or two (SelectIn).
func (r *Repo) ListUsersWithAddresses(ctx context.Context, q UserQuery, s Strategy) (Page[User], error) {
	return reading(ctx, r, func(db *dbgen.Queries) (Page[User], error) {
		page, err := listUsersWith(ctx, db, q, s,
			func(p dbgen.ListUsersParams) ([]User, error) {
				rows, err := db.ListUsersWithAddresses(ctx, dbgen.ListUsersWithAddressesParams(p))
				return foldAddresses(convert(rows, func(r dbgen.ListUsersWithAddressesRow) dbgen.GetUserWithAddressesRow {
					return dbgen.GetUserWithAddressesRow(r)
				})), err
			},
			func(users []User) error { return attachAddresses(ctx, db, users) })
		if err != nil {
			return Page[User]{}, fmt.Errorf("list users with addresses: %w", err)
		}
		return page, nil
	})
}

// ListUsersWithPosts returns a page of users, as ListUsers does, each with
// their posts (oldest first, without Author or Tags) loaded as s says: one
// round trip (Joined) or two (SelectIn).
func (r *Repo) ListUsersWithPosts(ctx context.Context, q UserQuery, s Strategy) (Page[User], error) {
	return reading(ctx, r, func(db *dbgen.Queries) (Page[User], error) {
		page, err := listUsersWith(ctx, db, q, s,
			func(p dbgen.ListUsersParams) ([]User, error) {
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
			func(users []User) error {
				return selectIn(ctx, userPosts, users, db.ListPostsByUserIDs,
					func(p dbgen.Post) int64 { return p.UserID }, postFromDB)
			})
		if err != nil {
			return Page[User]{}, fmt.Errorf("list users with posts: %w", err)
		}
		return page, nil
	})
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
// query, or by the page query followed by attach's select-in query.
func listUsersWith(ctx context.Context, db *dbgen.Queries, q UserQuery, s Strategy,
	joined func(dbgen.ListUsersParams) ([]User, error), attach func([]User) error,
) (Page[User], error) {
	p, err := q.check()
	if err == nil {
		err = s.check()
	}
	if err != nil {
		return Page[User]{}, err
	}
	var users []User
	if s == Joined {
		users, err = joined(p.params())
		err = dbError(ctx, err)
	} else if users, err = listUsers(ctx, db, p); err == nil {
		err = attach(users)
	}
	if err != nil {
		return Page[User]{}, err
	}
	return p.pageOf(users), nil
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

// attachAddresses loads the addresses of users in one query.
func attachAddresses(ctx context.Context, db *dbgen.Queries, users []User) error {
	return selectIn(ctx, userAddresses, users, db.ListAddressesByUserIDs,
		func(a dbgen.Address) int64 { return a.UserID }, addressFromDB)
}
