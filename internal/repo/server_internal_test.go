package repo

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// TestRoutedWritesOnOneServer runs the writes shaped for Citus (one
// statement per row, routed by its key, in one pipeline) on whatever server
// the tests have, so that make test covers them without Citus: the same
// results, errors and all-or-nothing as the one-statement shape.
func TestRoutedWritesOnOneServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	r := New(pool)
	r.server.citus.Store(2) // as if on Citus
	count := func(table string) int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n))
		return n
	}
	// owners counts the addresses that have their email_owners row (read
	// apart: Citus cannot join the two, distributed by other keys).
	owners := func() int {
		type owner struct{ userID, addressID int64 }
		byKey := map[string]owner{}
		rows, err := pool.Query(ctx, "SELECT email_key, user_id, address_id FROM email_owners")
		require.NoError(t, err)
		for rows.Next() {
			var key string
			var o owner
			require.NoError(t, rows.Scan(&key, &o.userID, &o.addressID))
			byKey[key] = o
		}
		require.NoError(t, rows.Err())
		n := 0
		rows, err = pool.Query(ctx, "SELECT user_id, id, email FROM addresses")
		require.NoError(t, err)
		for rows.Next() {
			var a owner
			var email string
			require.NoError(t, rows.Scan(&a.userID, &a.addressID, &email))
			if byKey[emailKey(email)] == a {
				n++
			}
		}
		require.NoError(t, rows.Err())
		return n
	}

	u, err := r.RegisterUser(ctx, NewUser{Name: "Ann", Age: 30}, "ann@example.com", "Ann@Work.example")
	require.NoError(t, err)
	require.Len(t, u.Addresses, 2)
	for i, email := range []string{"ann@example.com", "Ann@Work.example"} {
		require.Equal(t, email, u.Addresses[i].Email, "in the order given")
		require.Equal(t, u.ID, u.Addresses[i].UserID)
	}
	got, err := r.GetUserWithAddresses(ctx, u.ID, Joined)
	require.NoError(t, err)
	require.Equal(t, u, got)
	require.Equal(t, 2, owners(), "each address has its owner row")

	// Two taken (in other letter cases) and a new one: both named, in the
	// order given, and nothing written.
	_, err = r.RegisterUser(ctx, NewUser{Name: "Copy", Age: 1}, "ANN@WORK.example", "new@example.com", "Ann@Example.com")
	require.ErrorIs(t, err, ErrConflict)
	require.ErrorContains(t, err, `emails ["ANN@WORK.example" "Ann@Example.com"] are already registered`)
	require.Equal(t, 1, count("users"))
	require.Equal(t, 2, count("addresses"))
	require.Equal(t, 2, count("email_owners"))

	// In a transaction, a taken email fails the registration alone.
	err = r.InTx(ctx, TxOptions{}, func(tx *Repo) error {
		_, err := tx.RegisterUser(ctx, NewUser{Name: "Copy", Age: 1}, "new@example.com", "ann@EXAMPLE.com")
		require.ErrorIs(t, err, ErrConflict)
		require.ErrorContains(t, err, `email "ann@EXAMPLE.com" is already registered`)
		_, err = tx.RegisterUser(ctx, NewUser{Name: "Bea", Age: 2}, "new@example.com")
		return err
	})
	require.NoError(t, err)
	require.Equal(t, 2, count("users"))
	require.Equal(t, 3, owners())

	a, err := r.AddAddress(ctx, u.ID, "ann@home.example")
	require.NoError(t, err)
	require.Equal(t, u.ID, a.UserID)
	require.Equal(t, 4, owners())
	_, err = r.AddAddress(ctx, u.ID, "NEW@example.com")
	require.ErrorIs(t, err, ErrConflict)
	require.ErrorContains(t, err, `email "NEW@example.com" is already registered`)
	_, err = r.AddAddress(ctx, 987654, "nobody@example.com")
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, 4, count("addresses"))
	require.Equal(t, 4, count("email_owners"))
}
