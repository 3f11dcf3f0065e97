package repo_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

func TestCreateUser(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		u, err := e.CreateUser(e.ctx, repo.NewUser{Name: "Alice", Age: 30})
		require.NoError(t, err)
		require.NotZero(t, u.ID)
		require.Equal(t, "Alice", u.Name)
		require.EqualValues(t, 30, u.Age)
		require.False(t, u.CreatedAt.IsZero())
		got, err := e.GetUser(e.ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, u, got)
	})

	bad := []struct {
		name    string
		user    repo.NewUser
		message string
	}{
		{"ErrBlankName", repo.NewUser{Name: "  ", Age: 30}, `name "  " must not be blank`},
		{"ErrEmptyName", repo.NewUser{Name: "", Age: 30}, `name "" must not be blank`},
		{"ErrLongName", repo.NewUser{Name: strings.Repeat("a", 201), Age: 30}, "longer than 200"},
		{"ErrNegativeAge", repo.NewUser{Name: "Bob", Age: -1}, `age "-1" must be between 0 and 150`},
		{"ErrOldAge", repo.NewUser{Name: "Bob", Age: 151}, `age "151"`},
		{"ErrNULName", repo.NewUser{Name: "Bo\x00b", Age: 3}, "NUL byte"},
		{"ErrNotUTF8Name", repo.NewUser{Name: "Bo\xffb", Age: 3}, "not valid UTF-8"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			_, err := e.CreateUser(e.ctx, tc.user)
			require.ErrorIs(t, err, repo.ErrInvalid)
			require.ErrorContains(t, err, tc.message)
			var fe *repo.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, 0, e.rows(t, "users"))
		})
	}

	t.Run("SchemaIsTheBackstop", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.pool.Exec(e.ctx, "INSERT INTO users (name, age) VALUES (' ', -5)")
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr)
		// Citus relays a shard's error without the constraint's name field
		// (the message still names it): the repository reads it from there.
		require.Regexp(t, `constraint "(users_name_not_blank|users_age_range)"`, pgErr.Message)
		if !pgtest.Citus() {
			require.Contains(t, []string{"users_name_not_blank", "users_age_range"}, pgErr.ConstraintName)
		}
		_, err = e.pool.Exec(e.ctx, "INSERT INTO addresses (user_id, email) VALUES (1, 'nope')")
		require.Error(t, err)
		require.Equal(t, 0, e.rows(t, "users"))
	})
}

func TestGetUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := e.GetUser(e.ctx, 424242)
		require.ErrorIs(t, err, repo.ErrNotFound)
		require.ErrorContains(t, err, "get user 424242: not found")
	})

	t.Run("WithAddresses", func(t *testing.T) {
		hannah := e.mustRegister(t, "Hannah", 29, "hannah@example.com", "hannah@work.com")
		lonely := e.mustRegister(t, "Lonely", 50)
		for _, s := range []repo.Strategy{repo.Joined, repo.SelectIn} {
			got, err := e.GetUserWithAddresses(e.ctx, hannah.ID, s)
			require.NoError(t, err)
			require.Equal(t, hannah, got)

			got, err = e.GetUserWithAddresses(e.ctx, lonely.ID, s)
			require.NoError(t, err)
			require.Equal(t, []repo.Address{}, got.Addresses)

			_, err = e.GetUserWithAddresses(e.ctx, 999, s)
			require.ErrorIs(t, err, repo.ErrNotFound)
		}
		_, err := e.GetUserWithAddresses(e.ctx, hannah.ID, repo.Strategy(7))
		require.ErrorIs(t, err, repo.ErrInvalid)
	})
}

func TestFindUserByName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.mustRegister(t, "Hannah", 29, "hannah@example.com", "hannah@work.com")
	e.mustRegister(t, "Hannah", 40, "other.hannah@example.com")

	for _, s := range []repo.Strategy{repo.Joined, repo.SelectIn} {
		got, err := e.FindUserByName(e.ctx, "Hannah", s)
		require.NoError(t, err)
		require.Equal(t, first, got, "the oldest Hannah, with her addresses")

		_, err = e.FindUserByName(e.ctx, "Nobody", s)
		require.ErrorIs(t, err, repo.ErrNotFound)
	}
	_, err := e.FindUserByName(e.ctx, "Ha\x00nnah", repo.Joined)
	require.ErrorIs(t, err, repo.ErrInvalid)
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, err := e.CreateUser(e.ctx, repo.NewUser{Name: "Alice", Age: 30})
	require.NoError(t, err)

	t.Run("OnlyAge", func(t *testing.T) {
		got, err := e.UpdateUser(e.ctx, alice.ID, repo.UserPatch{Age: ptr[int32](31)})
		require.NoError(t, err)
		require.Equal(t, "Alice", got.Name)
		require.EqualValues(t, 31, got.Age)
		require.Equal(t, alice.CreatedAt, got.CreatedAt)
	})

	t.Run("OnlyName", func(t *testing.T) {
		got, err := e.UpdateUser(e.ctx, alice.ID, repo.UserPatch{Name: ptr("Alicia")})
		require.NoError(t, err)
		require.Equal(t, "Alicia", got.Name)
		require.EqualValues(t, 31, got.Age)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := e.UpdateUser(e.ctx, alice.ID, repo.UserPatch{Name: ptr("Al"), Age: ptr[int32](-4)})
		require.ErrorIs(t, err, repo.ErrInvalid)
		require.ErrorContains(t, err, `update user `)
		require.ErrorContains(t, err, `age "-4"`)
		got, err := e.GetUser(e.ctx, alice.ID)
		require.NoError(t, err)
		require.Equal(t, "Alicia", got.Name, "nothing written")
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := e.UpdateUser(e.ctx, alice.ID+100, repo.UserPatch{Age: ptr[int32](5)})
		require.ErrorIs(t, err, repo.ErrNotFound)
	})
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	keep := e.mustRegister(t, "Keep", 20, "keep@example.com")
	e.mustPost(t, keep.ID, "Kept", "go")
	gone := e.mustRegister(t, "Gone", 20, "gone@example.com", "gone@work.com")
	e.mustPost(t, gone.ID, "Goes away", "go", "sql")
	_, err := e.SetProfile(e.ctx, repo.Profile{UserID: gone.ID, Bio: "bye"})
	require.NoError(t, err)

	t.Run("Cascades", func(t *testing.T) {
		require.NoError(t, e.DeleteUser(e.ctx, gone.ID))
		_, err := e.GetUser(e.ctx, gone.ID)
		require.ErrorIs(t, err, repo.ErrNotFound)
		require.Equal(t, 1, e.rows(t, "addresses"))
		require.Equal(t, 1, e.rows(t, "posts"))
		require.Equal(t, 1, e.rows(t, "post_tags"))
		require.Equal(t, 0, e.rows(t, "profiles"))
		require.Equal(t, 2, e.rows(t, "tags"), "tags outlive the posts that used them")
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		err := e.DeleteUser(e.ctx, gone.ID)
		require.ErrorIs(t, err, repo.ErrNotFound)
		require.ErrorContains(t, err, "delete user")
	})
}

func TestRegisterUser(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		var u repo.User
		e.mustRegister(t, "Warm", 1) // a Repo's first write asks whether the database is Citus
		n := e.counter.queries(t, func() {
			u = e.mustRegister(t, "David", 28, "david@example.com", "david@work.com")
		})
		require.Equal(t, []string{"david@example.com", "david@work.com"},
			[]string{u.Addresses[0].Email, u.Addresses[1].Email})
		if pgtest.Citus() {
			require.EqualValues(t, 1+1+1+2*2+2, n, "the lookup, the user, its lock (db/queries/locks.sql), each address with its owner (one statement per row), BEGIN and COMMIT")
		} else {
			require.EqualValues(t, 1, n, "the user and all addresses in one statement")
		}
		got, err := e.GetUserWithAddresses(e.ctx, u.ID, repo.Joined)
		require.NoError(t, err)
		require.Equal(t, u, got)
	})

	t.Run("ErrDuplicateEmail", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.mustRegister(t, "Hannah", 29, "hannah@example.com")
		_, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "Impostor", Age: 30}, "new@example.com", "HANNAH@Example.com")
		require.ErrorIs(t, err, repo.ErrConflict)
		require.ErrorContains(t, err, `register user "Impostor"`)
		require.ErrorContains(t, err, `email "HANNAH@Example.com" is already registered`, "the error names the taken email as given")
		require.Equal(t, 1, e.rows(t, "users"), "the whole registration rolled back")
		require.Equal(t, 1, e.rows(t, "addresses"))
	})

	t.Run("ErrEmailGivenTwice", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "Echo", Age: 30}, "echo@example.com", "Echo@example.com")
		require.ErrorIs(t, err, repo.ErrConflict)
		require.ErrorContains(t, err, `"Echo@example.com" given twice`)
		require.Equal(t, 0, e.rows(t, "users"))
	})

	for _, email := range []string{"", "plain", "a@b", "@example.com", "a b@example.com", "a@@example.com",
		strings.Repeat("x", 250) + "@example.com", "nul\x00@example.com"} {
		t.Run("ErrInvalidEmail", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			_, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "Eve", Age: 22}, "eve@example.com", email)
			require.ErrorIs(t, err, repo.ErrInvalid)
			require.ErrorContains(t, err, `register user "Eve": invalid input: email`)
			require.Equal(t, 0, e.rows(t, "users"))
			require.Equal(t, 0, e.rows(t, "addresses"))
		})
	}

	t.Run("ConcurrentSameEmail", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		const racers = 8
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				_, errs[i] = e.RegisterUser(e.ctx, repo.NewUser{Name: "Racer", Age: 20}, "race@example.com")
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
				continue
			}
			require.ErrorIs(t, err, repo.ErrConflict)
			require.ErrorContains(t, err, `email "race@example.com" is already registered`)
		}
		require.Equal(t, 1, won)
		require.Equal(t, 1, e.rows(t, "users"), "losers left no user behind")
	})

	// The registration that takes the email commits after the statement's
	// snapshot: the INSERT fails (nothing written), and the error still names
	// the email as the caller gave it.
	t.Run("ConcurrentCommitAfterSnapshot", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		owner := e.mustRegister(t, "Owner", 40)
		tx, err := e.pool.Begin(e.ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(context.WithoutCancel(e.ctx)) }()
		_, err = tx.Exec(e.ctx, ownedAddress, owner.ID, "late@example.com")
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() {
			_, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "Racer", Age: 20}, "first@example.com", "LATE@example.com")
			done <- err
		}()
		// On the uncommitted address; on Citus, on its email_owners row.
		blocked := "-- name: RegisterUser %"
		if pgtest.Citus() {
			blocked = "-- name: CreateEmailOwnerOfNewUser %"
		}
		e.waitUntilBlocked(t, blocked, done)
		require.NoError(t, tx.Commit(e.ctx))
		err = <-done
		require.ErrorIs(t, err, repo.ErrConflict)
		require.ErrorContains(t, err, `email "LATE@example.com" is already registered`)
		require.Equal(t, 1, e.rows(t, "users"), "the registration left no user behind")
		require.Equal(t, 1, e.rows(t, "addresses"))
	})

	t.Run("ErrSeveralTaken", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.mustRegister(t, "Owner", 40, "a@example.com", "b@example.com")
		_, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "Late", Age: 20}, "B@example.com", "c@example.com", "A@example.com")
		require.ErrorIs(t, err, repo.ErrConflict)
		require.ErrorContains(t, err, `emails ["B@example.com" "A@example.com"] are already registered`, "in the order given")
		require.Equal(t, 1, e.rows(t, "users"))
	})
}

func TestAddresses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bob := e.mustRegister(t, "Bob", 25, "bob@example.com")

	a, err := e.AddAddress(e.ctx, bob.ID, "bob@work.com")
	require.NoError(t, err)
	require.Equal(t, bob.ID, a.UserID)

	_, err = e.AddAddress(e.ctx, bob.ID, "BOB@work.com")
	require.ErrorIs(t, err, repo.ErrConflict)
	_, err = e.AddAddress(e.ctx, bob.ID+1000, "ghost@example.com")
	require.ErrorIs(t, err, repo.ErrNotFound)
	_, err = e.AddAddress(e.ctx, bob.ID, "not-an-email")
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.ErrorContains(t, err, `email "not-an-email" must look like name@example.com`)
	require.Equal(t, 2, e.rows(t, "addresses"))

	got, err := e.ListAddresses(e.ctx, bob.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"bob@example.com", "bob@work.com"}, emailsOf(got), "oldest first")
	none, err := e.ListAddresses(e.ctx, bob.ID+1000)
	require.NoError(t, err, "no such user: no addresses, no error")
	require.Empty(t, none)

	require.NoError(t, e.DeleteAddress(e.ctx, a.ID))
	require.ErrorIs(t, e.DeleteAddress(e.ctx, a.ID), repo.ErrNotFound)
	require.Equal(t, 1, e.rows(t, "addresses"))
	got, err = e.ListAddresses(e.ctx, bob.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"bob@example.com"}, emailsOf(got))
}

func emailsOf(addresses []repo.Address) []string {
	var emails []string
	for _, a := range addresses {
		emails = append(emails, a.Email)
	}
	return emails
}

func TestProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	grace := e.mustRegister(t, "Grace", 45)

	_, err := e.GetProfile(e.ctx, grace.ID)
	require.ErrorIs(t, err, repo.ErrNotFound)

	p, err := e.SetProfile(e.ctx, repo.Profile{UserID: grace.ID, Bio: "Writes compilers.", Website: ptr("https://grace.example")})
	require.NoError(t, err)
	p2, err := e.SetProfile(e.ctx, repo.Profile{UserID: grace.ID, Bio: "Writes more compilers."})
	require.NoError(t, err, "one profile per user: setting it again replaces it")
	require.Nil(t, p2.Website)
	got, err := e.GetProfile(e.ctx, grace.ID)
	require.NoError(t, err)
	require.Equal(t, p2, got)
	require.NotEqual(t, p, got)

	_, err = e.SetProfile(e.ctx, repo.Profile{UserID: grace.ID, Website: ptr("javascript:alert(1)")})
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = e.SetProfile(e.ctx, repo.Profile{UserID: grace.ID, Bio: strings.Repeat("b", 2001)})
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = e.SetProfile(e.ctx, repo.Profile{UserID: grace.ID + 1})
	require.ErrorIs(t, err, repo.ErrNotFound)
	got, err = e.GetProfile(e.ctx, grace.ID)
	require.NoError(t, err)
	require.Equal(t, p2, got, "failed updates wrote nothing")
	require.Equal(t, 1, e.rows(t, "profiles"))
}

func TestBulkCreateUsers(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		users := make([]repo.NewUser, 1000)
		for i := range users {
			users[i] = repo.NewUser{Name: "User" + strings.Repeat("x", i%7), Age: int32(i % 100)}
		}
		var n int64
		queries := e.counter.queries(t, func() {
			var err error
			n, err = e.BulkCreateUsers(e.ctx, users)
			require.NoError(t, err)
		})
		require.EqualValues(t, 1000, n)
		require.Equal(t, 1000, e.rows(t, "users"))
		require.EqualValues(t, 2, queries, "BEGIN and COMMIT; the COPY itself is not a query")
	})

	t.Run("ErrInvalidNamesPosition", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		users := []repo.NewUser{{Name: "A", Age: 1}, {Name: "B", Age: 2}, {Name: "C", Age: 300}, {Name: "D", Age: 4}}
		_, err := e.BulkCreateUsers(e.ctx, users)
		require.ErrorIs(t, err, repo.ErrInvalid)
		require.ErrorContains(t, err, `user 3 of 4: invalid input: age "300"`)
		require.Equal(t, 0, e.rows(t, "users"))
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		n, err := e.BulkCreateUsers(e.ctx, nil)
		require.NoError(t, err)
		require.Zero(t, n)
	})

	t.Run("ErrCanceledLeavesNothing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		_, err := e.BulkCreateUsers(ctx, []repo.NewUser{{Name: "A", Age: 1}})
		require.Error(t, err)
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, 0, e.rows(t, "users"))
	})
}

// TestRegisterUserPlan: the registration looks each email up in
// email_owners' key (in RegisterUser's statement; on Citus in TakenEmailKeys)
// even in a generic plan (which a prepared statement gets
// after five runs, and which guesses ten emails): a hash join would read every
// owner there is, on every registration.
func TestRegisterUserPlan(t *testing.T) {
	t.Parallel()
	lookup, args := "RegisterUser", "('{new@example.com,r1@example.com}', '{new@example.com,r1@example.com}', 'New', 30)"
	if pgtest.Citus() {
		lookup, args = "TakenEmailKeys", "('{new@example.com,r1@example.com}')"
	}
	sqlOf := &statementCapture{name: lookup}
	pool := pgtest.NewPool(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = sqlOf })
	r, ctx := repo.New(pool), context.Background()
	_, err := r.RegisterUser(ctx, repo.NewUser{Name: "Reader", Age: 30}, "r1@example.com", "r1@work.example")
	require.NoError(t, err)
	// Registered users enough that reading them all costs more than ten
	// lookups (a seq scan of a few hundred rows is cheaper than an index).
	_, err = pool.Exec(ctx, `
		INSERT INTO users (id, name) SELECT 1000 + g, 'Reader' FROM generate_series(1, 20000) g;
		WITH a AS (INSERT INTO addresses (id, user_id, email)
		           SELECT 1000 + g, 1000 + g, format('r%s@example.org', g) FROM generate_series(1, 20000) g
		           RETURNING user_id, id, email)
		INSERT INTO email_owners (email_key, user_id, address_id) SELECT email_key(email), user_id, id FROM a;
		ANALYZE users, addresses, email_owners`)
	require.NoError(t, err)
	require.NotEmpty(t, sqlOf.sql.Load())

	tx, err := pool.Begin(ctx) // one server connection, through PgBouncer too
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	if !pgtest.Citus() { // Citus: "could not create distributed plan" for a forced generic plan
		_, err = tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan")
		require.NoError(t, err)
	}
	_, err = tx.Exec(ctx, "PREPARE registration AS "+*sqlOf.sql.Load())
	require.NoError(t, err)
	rows, err := tx.Query(ctx, "EXPLAIN EXECUTE registration"+args)
	require.NoError(t, err)
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "DEALLOCATE registration") // prepared statements outlive transactions
	require.NoError(t, err)
	text := strings.Join(plan, "\n")
	require.Regexp(t, `Index (Only )?Scan (using|on) email_owners_pkey`, text)
	require.NotContains(t, text, "Seq Scan on email_owners", text)
	if pgtest.Citus() {
		// And on Citus only on the shards of the two emails' keys (not all eight).
		require.NotRegexp(t, `Task Count: ([3-9]|[0-9]{2,})`, text)
	}
}

// statementCapture keeps the SQL of the sqlc query called name.
type statementCapture struct {
	name string
	sql  atomic.Pointer[string]
}

func (c *statementCapture) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(d.SQL, "-- name: "+c.name+" ") {
		c.sql.Store(&d.SQL)
	}
	return ctx
}

func (c *statementCapture) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A pipelined statement is traced as part of its batch.
func (c *statementCapture) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (c *statementCapture) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	if strings.HasPrefix(d.SQL, "-- name: "+c.name+" ") {
		c.sql.Store(&d.SQL)
	}
}

func (c *statementCapture) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
