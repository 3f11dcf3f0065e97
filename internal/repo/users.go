package repo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// CreateUser inserts a user and returns it with its id and creation time.
// It returns ErrInvalid (a *FieldError) for a blank or over-long name or an
// age outside 0-150.
func (r *Repo) CreateUser(ctx context.Context, u NewUser) (User, error) {
	return writeOne(ctx, r, u.validate(), func(q *dbgen.Queries) (dbgen.User, error) {
		return q.CreateUser(ctx, dbgen.CreateUserParams{Name: u.Name, Age: u.Age})
	}, userFromDB, "create user %q", short(u.Name))
}

// RegisterUser creates a user with their email addresses, in one round trip:
// either all of it is stored or none. It returns the user with Addresses in
// the order given. Errors: ErrInvalid for a bad name, age or email;
// ErrConflict when an email is already registered, to anyone, in any letter
// case, or is given twice, naming it as given.
func (r *Repo) RegisterUser(ctx context.Context, u NewUser, emails ...string) (User, error) {
	fail := func(err error) (User, error) { return User{}, fmt.Errorf("register user %q: %w", short(u.Name), err) }
	if err := u.validate(); err != nil {
		return fail(err)
	}
	seen := make(map[string]bool, len(emails))
	keys := make([]string, 0, len(emails)) // email_owners is read by them
	for _, e := range emails {
		if err := checkEmail(e); err != nil {
			return fail(err)
		}
		key := emailKey(e)
		if seen[key] {
			return fail(fmt.Errorf("%w: email %q given twice", ErrConflict, short(e)))
		}
		seen[key] = true
		keys = append(keys, key)
	}
	if emails == nil {
		emails = []string{} // an empty array, not NULL
	}
	citus, err := r.onCitus(ctx)
	if err != nil {
		return fail(err)
	}
	register := r.registerInOneStatement
	if citus {
		register = r.registerRouted
	}
	user, err := register(ctx, u, emails, keys)
	if err != nil {
		return fail(err)
	}
	return user, nil
}

// registerInOneStatement registers with the RegisterUser statement: on one
// server, all of it in one statement, and a taken email is no error there
// (nothing aborted, nothing for pgx to drop from its statement cache).
func (r *Repo) registerInOneStatement(ctx context.Context, u NewUser, emails, keys []string) (User, error) {
	params := dbgen.RegisterUserParams{Name: u.Name, Age: u.Age, Emails: emails, EmailKeys: keys}
	rows, err := writing(ctx, r, func(q *dbgen.Queries) ([]dbgen.RegisterUserRow, error) {
		rows, err := q.RegisterUser(ctx, params)
		// An email registered by a transaction that committed after the
		// statement's snapshot fails the INSERT, which undid everything:
		// asked again, the statement sees that registration and names the
		// email. In a transaction, the failure aborted it: no second try.
		if err != nil && r.tx == nil && errors.Is(dbError(ctx, err), ErrConflict) {
			rows, err = q.RegisterUser(ctx, params)
		}
		return rows, err
	})
	if err != nil {
		// Taken still: by an address that has no email_owners row (written
		// by another client, on one server), or by a registration that
		// committed after the second snapshot.
		err = dbError(ctx, err)
		if i := takenEmail(err, emails); i >= 0 {
			return User{}, emailTaken(emails[i], err)
		}
		return User{}, err
	}
	if taken := rows[0].TakenEmails; len(taken) > 0 {
		return User{}, emailsTaken(taken, nil)
	}
	row := rows[0]
	user := User{ID: *row.UserID, Name: *row.UserName, Age: *row.UserAge, CreatedAt: *row.UserCreatedAt,
		Addresses: make([]Address, 0, len(emails))}
	for _, row := range rows {
		if row.AddressID != nil {
			user.Addresses = append(user.Addresses, Address{ID: *row.AddressID, UserID: user.ID, Email: *row.AddressEmail})
		}
	}
	return user, nil
}

// registerRouted registers, on Citus, with one statement per row, each
// routed by its own distribution key (the user's shard, each email's
// email_owners shard), in one pipeline: one round trip and one transaction,
// far faster there than the one statement (BENCHMARKS.md, "Citus
// registration shape"). A taken email
// fails its insert, which undoes everything (in a transaction, only this:
// pipelinedAlone's savepoint); the lookup that goes first names every taken
// email, not only that one.
func (r *Repo) registerRouted(ctx context.Context, u NewUser, emails, keys []string) (User, error) {
	var taken []string // the keys registered already, as the lookup saw them
	user, err := writing(ctx, r, func(*dbgen.Queries) (User, error) {
		return pipelinedAlone(ctx, r.handle(), func(q *dbgen.Queries) (User, error) {
			var errs []error
			if len(keys) > 0 {
				var err error
				taken, err = q.TakenEmailKeys(ctx, keys)
				errs = append(errs, err)
			}
			row, err := q.CreateUser(ctx, dbgen.CreateUserParams{Name: u.Name, Age: u.Age})
			errs = append(errs, err)
			if len(emails) > 0 {
				// Its email_owners rows go to other workers: a delete of the
				// user waits for them (db/queries/locks.sql).
				errs = append(errs, q.LockNewUserForWrite(ctx))
			}
			user := userFromDB(row)
			user.Addresses = make([]Address, 0, len(emails))
			for _, e := range emails {
				a, err := q.CreateAddressOfNewUser(ctx, e)
				errs = append(errs, err, q.CreateEmailOwnerOfNewUser(ctx, e))
				user.Addresses = append(user.Addresses, addressFromDB(a))
			}
			return user, cmp.Or(errs...)
		})
	})
	if err == nil {
		return user, nil
	}
	err = dbError(ctx, err)
	if !errors.Is(err, ErrConflict) {
		return User{}, err
	}
	// Taken: those the lookup saw, and the one whose insert failed (by a
	// registration that committed after the lookup).
	failed := takenEmail(err, emails)
	var names []string
	for i, e := range emails {
		if i == failed || slices.Contains(taken, keys[i]) {
			names = append(names, e)
		}
	}
	return User{}, emailsTaken(names, err)
}

// GetUser returns the user with that id, or ErrNotFound.
func (r *Repo) GetUser(ctx context.Context, id int64) (User, error) {
	return readOne(ctx, r, func(q *dbgen.Queries) (dbgen.User, error) { return q.GetUser(ctx, id) },
		userFromDB, "get user %d", id)
}

// GetUserWithAddresses returns the user with that id and their addresses
// (oldest first), loaded as s says, in one round trip either way;
// ErrNotFound if there is no such user, ErrInvalid for a bad strategy.
func (r *Repo) GetUserWithAddresses(ctx context.Context, id int64, s Strategy) (User, error) {
	u, err := userWithAddresses(ctx, r, s,
		func(q *dbgen.Queries) ([]dbgen.GetUserWithAddressesRow, error) {
			return q.GetUserWithAddresses(ctx, id)
		},
		func(q *dbgen.Queries) (dbgen.User, []dbgen.Address, error) {
			row, err := q.GetUser(ctx, id)
			addrs, aerr := q.ListAddressesByUserIDs(ctx, []int64{id})
			return row, addrs, cmp.Or(err, aerr)
		})
	if err != nil {
		return User{}, fmt.Errorf("get user %d with addresses: %w", id, err)
	}
	return u, nil
}

// ListAddresses returns a user's addresses, oldest first, in one round
// trip: none for a user who has none or does not exist
// (GetUserWithAddresses tells the two apart).
func (r *Repo) ListAddresses(ctx context.Context, userID int64) ([]Address, error) {
	return readOne(ctx, r, func(q *dbgen.Queries) ([]dbgen.Address, error) { return q.ListAddressesOfUser(ctx, userID) },
		func(rows []dbgen.Address) []Address { return convert(rows, addressFromDB) }, "list addresses of user %d", userID)
}

// FindUserByName returns the oldest user with exactly that name, with their
// addresses loaded as s says (the tutorials' display_user), in one round trip
// either way; ErrNotFound if nobody has that name, ErrInvalid for a bad name
// or strategy.
func (r *Repo) FindUserByName(ctx context.Context, name string, s Strategy) (User, error) {
	if err := checkText("name", name); err != nil {
		return User{}, fmt.Errorf("find user %q: %w", short(name), err)
	}
	u, err := userWithAddresses(ctx, r, s,
		func(q *dbgen.Queries) ([]dbgen.GetUserWithAddressesRow, error) {
			rows, err := q.GetUserByNameWithAddresses(ctx, name)
			return convert(rows, func(r dbgen.GetUserByNameWithAddressesRow) dbgen.GetUserWithAddressesRow {
				return dbgen.GetUserWithAddressesRow(r)
			}), err
		},
		// The addresses' query finds the user by name too, so that it need
		// not wait for the user's id: both go in one batch.
		func(q *dbgen.Queries) (dbgen.User, []dbgen.Address, error) {
			row, err := q.GetUserByName(ctx, name)
			addrs, aerr := q.ListAddressesOfUserByName(ctx, name)
			return row, addrs, cmp.Or(err, aerr)
		})
	if err != nil {
		return User{}, fmt.Errorf("find user %q: %w", short(name), err)
	}
	return u, nil
}

// userWithAddresses loads one user and their addresses with either strategy:
// joined runs the join; selectIn runs the user's query and the addresses'
// query, both known up front, in one batch (readingPipelined).
func userWithAddresses(ctx context.Context, r *Repo, s Strategy,
	joined func(*dbgen.Queries) ([]dbgen.GetUserWithAddressesRow, error),
	selectIn func(*dbgen.Queries) (dbgen.User, []dbgen.Address, error),
) (User, error) {
	if err := s.check(); err != nil {
		return User{}, err
	}
	if s == SelectIn {
		return readingPipelined(ctx, r, func(q *dbgen.Queries) (User, error) {
			row, addrs, err := selectIn(q)
			if err != nil {
				return User{}, dbError(ctx, err)
			}
			u := userFromDB(row)
			u.Addresses = nonNil(convert(addrs, addressFromDB))
			return u, nil
		})
	}
	return reading(ctx, r, func(q *dbgen.Queries) (User, error) {
		rows, err := joined(q)
		if err != nil {
			return User{}, dbError(ctx, err)
		}
		users := foldAddresses(rows)
		if len(users) == 0 {
			return User{}, ErrNotFound
		}
		return users[0], nil
	})
}

// UpdateUser changes the fields of patch that are set and returns the user as
// stored. ErrNotFound if there is no such user; ErrInvalid for a bad value.
func (r *Repo) UpdateUser(ctx context.Context, id int64, patch UserPatch) (User, error) {
	return writeOne(ctx, r, cmp.Or(ifSet(patch.Name, checkName), ifSet(patch.Age, checkAge)), func(q *dbgen.Queries) (dbgen.User, error) {
		return q.UpdateUser(ctx, dbgen.UpdateUserParams{ID: id, Name: patch.Name, Age: patch.Age})
	}, userFromDB, "update user %d", id)
}

// DeleteUser deletes the user and, by cascade, their addresses, profile,
// posts and the posts' tags, and their follows both ways (on Citus too, where
// the other user's rows live elsewhere); a deadlock with the delete of a user
// they follow or who follows them is retried, as InTx retries. ErrNotFound
// if there is no such user.
func (r *Repo) DeleteUser(ctx context.Context, id int64) error {
	n, err := retryDeadlocks(ctx, r, func() (int64, error) {
		return writing(ctx, r, func(*dbgen.Queries) (int64, error) {
			// One round trip: the lock, then the deletes with snapshots of their own.
			return pipelined(ctx, r.handle(), func(q *dbgen.Queries) (int64, error) {
				lockErr := cmp.Or(q.LockUserWrites(ctx, id), q.LockUserForDelete(ctx, id))
				edgesErr := deleteEdges(ctx, q, id)
				n, err := q.DeleteUser(ctx, id)
				return n, cmp.Or(lockErr, edgesErr, err)
			})
		})
	})
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete user %d: %w", id, dbError(ctx, err))
	}
	return nil
}

// AddAddress gives a user one more email address. ErrInvalid for a malformed
// email; ErrConflict if it is registered already; ErrNotFound if there is no
// such user.
func (r *Repo) AddAddress(ctx context.Context, userID int64, email string) (Address, error) {
	fail := func(err error) (Address, error) {
		return Address{}, fmt.Errorf("add address %q to user %d: %w", short(email), userID, err)
	}
	if err := checkEmail(email); err != nil {
		return fail(err)
	}
	citus, err := r.onCitus(ctx)
	if err != nil {
		return fail(err)
	}
	a, err := writing(ctx, r, func(q *dbgen.Queries) (dbgen.Address, error) {
		if !citus {
			rows, err := q.CreateAddresses(ctx, dbgen.CreateAddressesParams{UserID: userID, Emails: []string{email}})
			if err != nil {
				return dbgen.Address{}, err
			}
			return dbgen.Address(rows[0]), nil
		}
		// On Citus, the address and its email_owners row by one statement
		// each, routed by its own key, in one round trip, after the lock
		// that makes a delete of the user wait for both (db/queries/locks.sql).
		return pipelined(ctx, r.handle(), func(q *dbgen.Queries) (dbgen.Address, error) {
			lockErr := q.LockUserForWrite(ctx, userID)
			a, err := q.CreateAddress(ctx, dbgen.CreateAddressParams{UserID: userID, Email: email})
			return a, cmp.Or(lockErr, err, q.CreateEmailOwner(ctx, dbgen.CreateEmailOwnerParams{UserID: userID, Email: email}))
		})
	})
	if err != nil {
		err = dbError(ctx, err)
		if takenEmail(err, []string{email}) == 0 {
			return fail(emailTaken(email, err))
		}
		return fail(err)
	}
	return addressFromDB(a), nil
}

// DeleteAddress deletes one address. ErrNotFound if there is no such address.
func (r *Repo) DeleteAddress(ctx context.Context, id int64) error {
	citus, err := r.onCitus(ctx)
	if err != nil {
		return fmt.Errorf("delete address %d: %w", id, err)
	}
	return deleteOne(ctx, r, func(q *dbgen.Queries) (int64, error) {
		if !citus {
			return q.DeleteAddress(ctx, id)
		}
		// On Citus, after the lock that waits for a write of the address
		// and its email_owners row to commit on both workers
		// (db/queries/locks.sql), in the same round trip.
		return pipelined(ctx, r.handle(), func(q *dbgen.Queries) (int64, error) {
			lockErr := q.LockAddressUserWrites(ctx, id)
			n, err := q.DeleteAddress(ctx, id)
			return n, cmp.Or(lockErr, err)
		})
	}, "delete address %d", id)
}

// SetProfile creates or replaces a user's profile. ErrInvalid for an
// over-long bio or a website that is not an http(s) URL; ErrNotFound if there
// is no such user.
func (r *Repo) SetProfile(ctx context.Context, p Profile) (Profile, error) {
	return writeOne(ctx, r, cmp.Or(checkBio(p.Bio), checkWebsite(p.Website)), func(q *dbgen.Queries) (dbgen.Profile, error) {
		return q.UpsertProfile(ctx, dbgen.UpsertProfileParams{UserID: p.UserID, Bio: p.Bio, Website: p.Website})
	}, profileFromDB, "set profile of user %d", p.UserID)
}

// GetProfile returns a user's profile; ErrNotFound if they have none.
func (r *Repo) GetProfile(ctx context.Context, userID int64) (Profile, error) {
	return readOne(ctx, r, func(q *dbgen.Queries) (dbgen.Profile, error) { return q.GetProfile(ctx, userID) },
		profileFromDB, "get profile of user %d", userID)
}

// BulkCreateUsers inserts users with COPY, in one transaction: all of them or,
// on any error, none. Every user is validated before anything is sent, and an
// invalid one is named by its position. It returns the number inserted.
func (r *Repo) BulkCreateUsers(ctx context.Context, users []NewUser) (int64, error) {
	params := make([]dbgen.CopyUsersParams, len(users))
	for i, u := range users {
		if err := u.validate(); err != nil {
			return 0, fmt.Errorf("bulk create users: user %d of %d: %w", i+1, len(users), err)
		}
		params[i] = dbgen.CopyUsersParams{Name: u.Name, Age: u.Age}
	}
	var n int64
	err := r.inTx(ctx, func(q *dbgen.Queries) error {
		var err error
		n, err = q.CopyUsers(ctx, params)
		return dbError(ctx, err)
	})
	if err != nil {
		return 0, fmt.Errorf("bulk create %d users: %w", len(users), err)
	}
	return n, nil
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
