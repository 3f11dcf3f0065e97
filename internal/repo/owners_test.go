package repo_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// ownerRules are the database's two ways of keeping an email unique: on one
// server both hold (addresses_email_lower_key, and email_owners' key with its
// foreign key to addresses); on Citus only email_owners' key is left, and
// nothing but the repository keeps email_owners in step with addresses.
// "OwnersOnly" drops the rest in the test's database (IF EXISTS: on a Citus
// cluster they are gone already), so that the repository's own writes are
// what the tests check.
var ownerRules = map[string]string{
	"PostgreSQL": "",
	"OwnersOnly": `ALTER TABLE email_owners DROP CONSTRAINT IF EXISTS email_owners_address_fkey;
		DROP INDEX IF EXISTS addresses_email_lower_key`,
}

// checkOwners requires every address to have exactly its email_owners row
// (its key, user and id) and every owner row to have its address.
func (e env) checkOwners(t *testing.T, step string) {
	t.Helper()
	var addresses, owners, missing, orphaned int
	require.NoError(t, e.pool.QueryRow(e.ctx, `SELECT
		(SELECT count(*) FROM addresses),
		(SELECT count(*) FROM email_owners),
		(SELECT count(*) FROM addresses a WHERE NOT EXISTS (SELECT FROM email_owners o
			WHERE o.email_key = email_key(a.email) AND o.user_id = a.user_id AND o.address_id = a.id)),
		(SELECT count(*) FROM email_owners o WHERE NOT EXISTS (SELECT FROM addresses a
			WHERE a.user_id = o.user_id AND a.id = o.address_id AND email_key(a.email) = o.email_key))`).
		Scan(&addresses, &owners, &missing, &orphaned))
	require.Zero(t, missing, "%s: addresses without their owner row", step)
	require.Zero(t, orphaned, "%s: owner rows without their address", step)
	require.Equal(t, addresses, owners, "%s", step)
}

// TestEmailOwners: after every write path that adds or removes addresses,
// and after each one's failures, email_owners holds exactly one row per
// address, under both rule sets.
func TestEmailOwners(t *testing.T) {
	t.Parallel()
	for name, drop := range ownerRules {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if drop != "" {
				e.exec(t, drop)
			}
			ann := e.mustRegister(t, "Ann", 30, "ann@example.com", "Ann@Work.example")
			e.checkOwners(t, "RegisterUser")

			_, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "Copy"}, "fresh@example.com", "ANN@example.com")
			require.ErrorIs(t, err, repo.ErrConflict)
			require.ErrorContains(t, err, `email "ANN@example.com" is already registered`)
			require.Equal(t, 1, e.rows(t, "users"))
			e.checkOwners(t, "RegisterUser taken")

			added, err := e.AddAddress(e.ctx, ann.ID, "ann@home.example")
			require.NoError(t, err)
			_, err = e.AddAddress(e.ctx, ann.ID, "ANN@HOME.example")
			require.ErrorIs(t, err, repo.ErrConflict)
			require.ErrorContains(t, err, `email "ANN@HOME.example" is already registered`)
			_, err = e.AddAddress(e.ctx, ann.ID+1000, "nobody@example.com")
			require.ErrorIs(t, err, repo.ErrNotFound)
			e.checkOwners(t, "AddAddress")

			require.NoError(t, e.DeleteAddress(e.ctx, added.ID))
			require.ErrorIs(t, e.DeleteAddress(e.ctx, added.ID), repo.ErrNotFound)
			e.checkOwners(t, "DeleteAddress")
			_, err = e.AddAddress(e.ctx, ann.ID, "Ann@Home.example")
			require.NoError(t, err, "a deleted address's email is free again")
			e.checkOwners(t, "AddAddress after DeleteAddress")

			imports := []repo.UserImport{{Email: "ANN@EXAMPLE.COM", Name: "Annie", Age: 31}, {Email: "Imported@example.com", Name: "Imp"}}
			res, err := e.UpsertUsersByEmail(e.ctx, seqOf(imports, 0), repo.BulkOptions{})
			require.NoError(t, err)
			require.Equal(t, repo.BulkResult{Batches: 1, Users: 1, Addresses: 1, Updated: 1}, res)
			e.checkOwners(t, "UpsertUsersByEmail")
			_, err = e.UpsertUsersByEmail(e.ctx, seqOf([]repo.UserImport{{Email: "new@example.com", Name: "New"},
				{Email: "NEW@example.com", Name: "Twice"}}, 0), repo.BulkOptions{})
			require.ErrorIs(t, err, repo.ErrConflict)
			e.checkOwners(t, "UpsertUsersByEmail refused")

			users := e.rows(t, "users")
			bad := []repo.UserGraph{
				{User: repo.NewUser{Name: "G1"}, Emails: []string{"g1@example.com"}},
				{User: repo.NewUser{Name: "G2"}, Emails: []string{"g2@example.com", "not an email"}},
			}
			_, err = e.BulkInsertGraphs(e.ctx, seqOf(bad, 0), repo.BulkOptions{})
			require.ErrorIs(t, err, repo.ErrInvalid)
			taken := []repo.UserGraph{
				{User: repo.NewUser{Name: "G1"}, Emails: []string{"g1@example.com"}},
				{User: repo.NewUser{Name: "G2"}, Emails: []string{"g2@example.com", "imported@EXAMPLE.com"}},
			}
			_, err = e.BulkInsertGraphs(e.ctx, seqOf(taken, 0), repo.BulkOptions{})
			require.ErrorIs(t, err, repo.ErrConflict)
			var rowErr *repo.RowError
			require.ErrorAs(t, err, &rowErr)
			require.EqualValues(t, 2, rowErr.Position)
			require.Equal(t, users, e.rows(t, "users"), "nothing of the refused batches")
			e.checkOwners(t, "BulkInsertGraphs refused")
			_, err = e.BulkInsertGraphs(e.ctx, seqOf(bad[:1], 0), repo.BulkOptions{})
			require.NoError(t, err)
			e.checkOwners(t, "BulkInsertGraphs")

			require.NoError(t, e.DeleteUser(e.ctx, ann.ID))
			e.checkOwners(t, "DeleteUser")
			require.Positive(t, e.rows(t, "email_owners"), "the other users' owners stay")

			require.NoError(t, e.Reset(e.ctx))
			require.Zero(t, e.rows(t, "email_owners"), "Reset empties email_owners")
			_, err = e.InitialLoadGraphs(e.ctx, seqOf(graphs(30), 0), repo.InitialLoadOptions{})
			require.NoError(t, err)
			require.Positive(t, e.rows(t, "email_owners"))
			e.checkOwners(t, "InitialLoadGraphs")
		})
	}
}

// TestEmailTakenByAnotherClient: on one server an address written by a
// client that is not ours has no email_owners row, and addresses' unique
// index still refuses its email to everyone, named as the caller gave it.
func TestEmailTakenByAnotherClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.mustRegister(t, "Owner", 40)
	e.exec(t, "INSERT INTO addresses (user_id, email) VALUES ($1, 'Other@Example.com')", owner.ID)

	_, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "Late"}, "late@example.com", "OTHER@example.com")
	require.ErrorIs(t, err, repo.ErrConflict)
	require.ErrorContains(t, err, `email "OTHER@example.com" is already registered`)
	_, err = e.AddAddress(e.ctx, owner.ID, "other@EXAMPLE.com")
	require.ErrorIs(t, err, repo.ErrConflict)
	require.ErrorContains(t, err, `email "other@EXAMPLE.com" is already registered`)
	_, err = e.UpsertUsersByEmail(e.ctx, seqOf([]repo.UserImport{{Email: "a@example.com", Name: "A"},
		{Email: "other@example.com", Name: "B"}}, 0), repo.BulkOptions{})
	require.ErrorIs(t, err, repo.ErrConflict)
	var rowErr *repo.RowError
	require.ErrorAs(t, err, &rowErr)
	require.EqualValues(t, 2, rowErr.Position)
	require.ErrorContains(t, err, `email "other@example.com" is already registered`)
	require.Equal(t, 1, e.rows(t, "users"))
	require.Equal(t, 1, e.rows(t, "addresses"))
	require.Zero(t, e.rows(t, "email_owners"))
}

// TestConcurrentRegistrationsOfOneEmail: many registrations of one email, in
// different letter cases, at the same moment: exactly one wins, the others
// get ErrConflict naming the email as each gave it, and nothing is left
// behind; also where email_owners' key is the only rule (as on Citus).
func TestConcurrentRegistrationsOfOneEmail(t *testing.T) {
	t.Parallel()
	for name, drop := range ownerRules {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if drop != "" {
				e.exec(t, drop)
			}
			const racers = 12
			cases := []string{"same@example.com", "SAME@EXAMPLE.COM", "Same@Example.com", "sAmE@example.COM"}
			errs := make([]error, racers)
			emails := make([]string, racers)
			var wg sync.WaitGroup
			for i := range racers {
				emails[i] = cases[i%len(cases)]
				wg.Go(func() {
					_, errs[i] = e.RegisterUser(e.ctx, repo.NewUser{Name: fmt.Sprintf("Racer %d", i)},
						fmt.Sprintf("own%d@example.com", i), emails[i])
				})
			}
			wg.Wait()
			won := 0
			for i, err := range errs {
				if err == nil {
					won++
					continue
				}
				require.ErrorIs(t, err, repo.ErrConflict)
				require.ErrorContains(t, err, fmt.Sprintf("email %q is already registered", emails[i]))
			}
			require.Equal(t, 1, won)
			require.Equal(t, 1, e.rows(t, "users"))
			require.Equal(t, 2, e.rows(t, "addresses"))
			e.checkOwners(t, "after the race")
		})
	}
}
