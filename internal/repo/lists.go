package repo

import (
	"context"
	"fmt"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// ListUsers returns a page of users filtered and ordered as q says.
// ErrInvalid for a bad order, limit, age range or cursor.
func (r *Repo) ListUsers(ctx context.Context, q UserQuery) (Page[User], error) {
	return reading(ctx, r, func(r *Repo) (Page[User], error) {
		p, err := q.check()
		if err != nil {
			return Page[User]{}, fmt.Errorf("list users: %w", err)
		}
		rows, err := r.userRows(ctx, p)
		if err != nil {
			return Page[User]{}, fmt.Errorf("list users: %w", dbError(ctx, err))
		}
		return p.pageOf(convert(rows, userFromDB)), nil
	})
}

// ListUsersWithAddresses returns a page of users, as ListUsers does, each with
// their addresses loaded as s says: one round trip (Joined) or two (SelectIn).
func (r *Repo) ListUsersWithAddresses(ctx context.Context, q UserQuery, s Strategy) (Page[User], error) {
	return reading(ctx, r, func(r *Repo) (Page[User], error) {
		users, p, err := r.listWith(ctx, q, s, r.usersWithAddressesJoined, r.attachAddresses)
		if err != nil {
			return Page[User]{}, fmt.Errorf("list users with addresses: %w", err)
		}
		return p.pageOf(users), nil
	})
}

// ListUsersWithPosts returns a page of users, as ListUsers does, each with
// their posts (oldest first, without Author or Tags) loaded as s says: one
// round trip (Joined) or two (SelectIn).
func (r *Repo) ListUsersWithPosts(ctx context.Context, q UserQuery, s Strategy) (Page[User], error) {
	return reading(ctx, r, func(r *Repo) (Page[User], error) {
		users, p, err := r.listWith(ctx, q, s, r.usersWithPostsJoined, r.attachPosts)
		if err != nil {
			return Page[User]{}, fmt.Errorf("list users with posts: %w", err)
		}
		return p.pageOf(users), nil
	})
}

// listWith loads a page of users and their related rows, by the joined
// query or by the page query followed by attach's select-in query.
func (r *Repo) listWith(ctx context.Context, q UserQuery, s Strategy,
	joined func(context.Context, userPage) ([]User, error),
	attach func(context.Context, []User) error,
) ([]User, userPage, error) {
	p, err := q.check()
	if err == nil {
		err = s.check()
	}
	if err != nil {
		return nil, p, err
	}
	if s == Joined {
		users, err := joined(ctx, p)
		return users, p, dbError(ctx, err)
	}
	rows, err := r.userRows(ctx, p)
	if err != nil {
		return nil, p, dbError(ctx, err)
	}
	users := convert(rows, userFromDB)
	return users, p, attach(ctx, users)
}

// userRows runs the page query for the page's sort key.
func (r *Repo) userRows(ctx context.Context, p userPage) ([]dbgen.User, error) {
	switch p.q.OrderBy {
	case ByAge:
		return r.q.ListUsersByAge(ctx, p.byAge())
	case ByName:
		return r.q.ListUsersByName(ctx, p.byName())
	default:
		return r.q.ListUsersByID(ctx, p.byID())
	}
}

func (p userPage) byID() dbgen.ListUsersByIDParams {
	return dbgen.ListUsersByIDParams{MinAge: p.q.MinAge, MaxAge: p.q.MaxAge, AfterID: p.after.ID, MaxRows: p.fetch()}
}

func (p userPage) byAge() dbgen.ListUsersByAgeParams {
	return dbgen.ListUsersByAgeParams{MinAge: p.q.MinAge, MaxAge: p.q.MaxAge,
		AfterAge: p.after.Age, AfterID: p.after.ID, MaxRows: p.fetch()}
}

func (p userPage) byName() dbgen.ListUsersByNameParams {
	return dbgen.ListUsersByNameParams{MinAge: p.q.MinAge, MaxAge: p.q.MaxAge,
		AfterName: p.after.Name, AfterID: p.after.ID, MaxRows: p.fetch()}
}

// The joined queries of each sort key return rows of the same shape under
// different generated names; Go converts between such struct types, so one
// grouping function serves all three.

func (r *Repo) usersWithAddressesJoined(ctx context.Context, p userPage) ([]User, error) {
	var rows []dbgen.GetUserWithAddressesRow
	var err error
	switch p.q.OrderBy {
	case ByAge:
		var rs []dbgen.ListUsersWithAddressesByAgeRow
		rs, err = r.q.ListUsersWithAddressesByAge(ctx, dbgen.ListUsersWithAddressesByAgeParams(p.byAge()))
		rows = convert(rs, func(r dbgen.ListUsersWithAddressesByAgeRow) dbgen.GetUserWithAddressesRow {
			return dbgen.GetUserWithAddressesRow(r)
		})
	case ByName:
		var rs []dbgen.ListUsersWithAddressesByNameRow
		rs, err = r.q.ListUsersWithAddressesByName(ctx, dbgen.ListUsersWithAddressesByNameParams(p.byName()))
		rows = convert(rs, func(r dbgen.ListUsersWithAddressesByNameRow) dbgen.GetUserWithAddressesRow {
			return dbgen.GetUserWithAddressesRow(r)
		})
	default:
		var rs []dbgen.ListUsersWithAddressesByIDRow
		rs, err = r.q.ListUsersWithAddressesByID(ctx, dbgen.ListUsersWithAddressesByIDParams(p.byID()))
		rows = convert(rs, func(r dbgen.ListUsersWithAddressesByIDRow) dbgen.GetUserWithAddressesRow {
			return dbgen.GetUserWithAddressesRow(r)
		})
	}
	return groupAddresses(rows), err
}

func (r *Repo) usersWithPostsJoined(ctx context.Context, p userPage) ([]User, error) {
	var rows []dbgen.ListUsersWithPostsByIDRow
	var err error
	switch p.q.OrderBy {
	case ByAge:
		var rs []dbgen.ListUsersWithPostsByAgeRow
		rs, err = r.q.ListUsersWithPostsByAge(ctx, dbgen.ListUsersWithPostsByAgeParams(p.byAge()))
		rows = convert(rs, func(r dbgen.ListUsersWithPostsByAgeRow) dbgen.ListUsersWithPostsByIDRow {
			return dbgen.ListUsersWithPostsByIDRow(r)
		})
	case ByName:
		var rs []dbgen.ListUsersWithPostsByNameRow
		rs, err = r.q.ListUsersWithPostsByName(ctx, dbgen.ListUsersWithPostsByNameParams(p.byName()))
		rows = convert(rs, func(r dbgen.ListUsersWithPostsByNameRow) dbgen.ListUsersWithPostsByIDRow {
			return dbgen.ListUsersWithPostsByIDRow(r)
		})
	default:
		rows, err = r.q.ListUsersWithPostsByID(ctx, dbgen.ListUsersWithPostsByIDParams(p.byID()))
	}
	return groupPosts(rows), err
}

// groupAddresses folds joined rows, ordered by user, into users with their
// addresses. A user without addresses comes as one row with NULL address columns.
func groupAddresses(rows []dbgen.GetUserWithAddressesRow) []User {
	var users []User
	for _, row := range rows {
		if len(users) == 0 || users[len(users)-1].ID != row.User.ID {
			u := userFromDB(row.User)
			u.Addresses = []Address{}
			users = append(users, u)
		}
		if row.AddressID != nil {
			last := &users[len(users)-1]
			last.Addresses = append(last.Addresses, Address{ID: *row.AddressID, UserID: row.User.ID, Email: *row.AddressEmail})
		}
	}
	return users
}

// groupPosts does for posts what groupAddresses does for addresses.
func groupPosts(rows []dbgen.ListUsersWithPostsByIDRow) []User {
	var users []User
	for _, row := range rows {
		if len(users) == 0 || users[len(users)-1].ID != row.User.ID {
			u := userFromDB(row.User)
			u.Posts = []Post{}
			users = append(users, u)
		}
		if row.PostID != nil {
			last := &users[len(users)-1]
			last.Posts = append(last.Posts, Post{
				ID: *row.PostID, UserID: row.User.ID, Title: *row.PostTitle, Content: *row.PostContent,
				Published: *row.PostPublished, Rating: *row.PostRating, CreatedAt: *row.PostCreatedAt,
			})
		}
	}
	return users
}

// attachAddresses loads the addresses of all users in one query.
func (r *Repo) attachAddresses(ctx context.Context, users []User) error {
	if len(users) == 0 {
		return nil
	}
	rows, err := r.q.ListAddressesByUserIDs(ctx, userIDs(users))
	if err != nil {
		return dbError(ctx, err)
	}
	byUser := groupByParent(rows, func(a dbgen.Address) int64 { return a.UserID }, addressFromDB)
	for i := range users {
		users[i].Addresses = nonNil(byUser[users[i].ID])
	}
	return nil
}

// attachPosts loads the posts of all users in one query.
func (r *Repo) attachPosts(ctx context.Context, users []User) error {
	if len(users) == 0 {
		return nil
	}
	rows, err := r.q.ListPostsByUserIDs(ctx, userIDs(users))
	if err != nil {
		return dbError(ctx, err)
	}
	byUser := groupByParent(rows, func(p dbgen.Post) int64 { return p.UserID }, postFromDB)
	for i := range users {
		users[i].Posts = nonNil(byUser[users[i].ID])
	}
	return nil
}

// groupByParent converts the child rows of a select-in load and groups them
// by the id of their parent.
func groupByParent[R, T any](rows []R, parent func(R) int64, fromDB func(R) T) map[int64][]T {
	groups := make(map[int64][]T)
	for _, row := range rows {
		groups[parent(row)] = append(groups[parent(row)], fromDB(row))
	}
	return groups
}

func userIDs(users []User) []int64 {
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}

// nonNil makes a loaded relation with no rows an empty slice, not nil.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
