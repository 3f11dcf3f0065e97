package repo_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
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

// underEachOwnerRule runs test in parallel subtests, one per rule set of
// ownerRules, each on a database of its own with that rule set.
func underEachOwnerRule(t *testing.T, test func(t *testing.T, e env)) {
	for name, drop := range ownerRules {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if drop != "" {
				e.exec(t, drop)
			}
			test(t, e)
		})
	}
}

// checkOwners requires every address to have exactly its email_owners row
// (its key, user and id) and every owner row to have its address. The two
// tables are read apart and compared here: on Citus they are distributed by
// different columns, and a join of them is refused.
func (e env) checkOwners(t *testing.T, step string) {
	t.Helper()
	rows := func(query string) []string {
		t.Helper()
		r, err := e.pool.Query(e.ctx, query)
		require.NoError(t, err)
		got, err := pgx.CollectRows(r, pgx.RowTo[string])
		require.NoError(t, err)
		return got
	}
	addresses := rows("SELECT format('%s %s/%s', email_key(email), user_id, id) FROM addresses")
	owners := rows("SELECT format('%s %s/%s', email_key, user_id, address_id) FROM email_owners")
	// Only the difference is reported: the lists run to thousands of rows.
	count := map[string]int{}
	for _, a := range addresses {
		count[a]++
	}
	for _, o := range owners {
		count[o]--
	}
	var noOwner, noAddress []string
	for row, n := range count {
		for ; n > 0; n-- {
			noOwner = append(noOwner, row)
		}
		for ; n < 0; n++ {
			noAddress = append(noAddress, row)
		}
	}
	require.Empty(t, noOwner, "%s: addresses (of %d) without their email_owners row", step, len(addresses))
	require.Empty(t, noAddress, "%s: email_owners rows (of %d) without their address", step, len(owners))
}

// TestEmailOwners: after every write path that adds or removes addresses,
// and after each one's failures, email_owners holds exactly one row per
// address, under both rule sets.
func TestEmailOwners(t *testing.T) {
	t.Parallel()
	underEachOwnerRule(t, func(t *testing.T, e env) {
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

// TestEmailTakenByAnotherClient: an email that a client other than ours
// registered is refused to everyone by the database's rule, named as the
// caller gave it. The rule differs by backend. On one server it is
// addresses' unique index, which holds for an address written alone (no
// email_owners row): an import's row with that email is refused too, since
// nothing says whose it is. On Citus, where no index on addresses can span
// the shards, it is email_owners' key: another client registers an email by
// writing its owner row with the address (docs/OPERATIONS.md, "Citus"),
// and the database refuses a second owner of the email in any
// letter case, to that client as to ours; an import's row with that email
// finds its user by the owner row and updates them, as for any registered
// email.
func TestEmailTakenByAnotherClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.mustRegister(t, "Owner", 40)
	if pgtest.Citus() {
		e.exec(t, ownedAddress, owner.ID, "Other@Example.com")
		var pgErr *pgconn.PgError
		_, err := e.pool.Exec(e.ctx, ownedAddress, owner.ID, "OTHER@example.COM")
		require.ErrorAs(t, err, &pgErr, "a second owner of the email, from another client")
		require.Contains(t, []string{pgerrcode.UniqueViolation, pgerrcode.InternalError}, pgErr.Code,
			"Citus relays a worker's unique violation in a multi-step statement as XX000")
		require.Contains(t, pgErr.Message, `duplicate key value violates unique constraint "email_owners_pkey`)
	} else {
		e.exec(t, "INSERT INTO addresses (user_id, email) VALUES ($1, 'Other@Example.com')", owner.ID)
	}

	_, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "Late"}, "late@example.com", "OTHER@example.com")
	require.ErrorIs(t, err, repo.ErrConflict)
	require.ErrorContains(t, err, `email "OTHER@example.com" is already registered`)
	_, err = e.AddAddress(e.ctx, owner.ID, "other@EXAMPLE.com")
	require.ErrorIs(t, err, repo.ErrConflict)
	require.ErrorContains(t, err, `email "other@EXAMPLE.com" is already registered`)
	require.Equal(t, 1, e.rows(t, "users"))
	require.Equal(t, 1, e.rows(t, "addresses"))

	imports := seqOf([]repo.UserImport{{Email: "a@example.com", Name: "A"}, {Email: "other@example.com", Name: "B"}}, 0)
	res, err := e.UpsertUsersByEmail(e.ctx, imports, repo.BulkOptions{})
	if pgtest.Citus() {
		require.NoError(t, err)
		require.Equal(t, repo.BulkResult{Batches: 1, Users: 1, Addresses: 1, Updated: 1}, res)
		got, err := e.GetUser(e.ctx, owner.ID)
		require.NoError(t, err)
		require.Equal(t, "B", got.Name, "the owner row says whose the email is")
		e.checkOwners(t, "UpsertUsersByEmail")
		return
	}
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
	underEachOwnerRule(t, func(t *testing.T, e env) {
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

// TestDeleteUserWhileAnAddressIsAdded: an address added in a transaction
// that commits while DeleteUser waits for the user (their row; on Citus,
// first their lock of db/queries/locks.sql) is deleted with its
// email_owners row. Under OwnersOnly (Citus's rule set) no foreign key
// removes that row: DeleteUser must see the address's commit, not act on
// the snapshot it took before it waited.
func TestDeleteUserWhileAnAddressIsAdded(t *testing.T) {
	t.Parallel()
	underEachOwnerRule(t, func(t *testing.T, e env) {
		ann := e.mustRegister(t, "Ann", 30, "ann@example.com")
		deleted := make(chan error, 1)
		err := e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
			if _, err := tx.AddAddress(e.ctx, ann.ID, "ann@late.example"); err != nil {
				return err
			}
			go func() { deleted <- e.DeleteUser(e.ctx, ann.ID) }()
			e.waitUntilBlocked(t, "-- name: LockUser%", deleted)
			return nil
		})
		require.NoError(t, err)
		require.NoError(t, <-deleted)
		require.Equal(t, 0, e.rows(t, "users"))
		require.Equal(t, 0, e.rows(t, "addresses"))
		e.checkOwners(t, "after the delete")
	})
}

// TestDeleteAddressWhileAnAddressIsAdded: DeleteAddress of a user's
// address while a transaction adds another to the user. On Citus it waits
// for that transaction (the lock of db/queries/locks.sql, which must be
// the coordinator's, since it holds the lock until both workers have
// committed the new address and its email_owners row); on one server it
// has no need to. Either way both rows are right afterwards.
func TestDeleteAddressWhileAnAddressIsAdded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.mustRegister(t, "Ann", 30, "ann@example.com")
	deleted := make(chan error, 1)
	err := e.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
		if _, err := tx.AddAddress(e.ctx, ann.ID, "ann@late.example"); err != nil {
			return err
		}
		go func() { deleted <- e.DeleteAddress(e.ctx, ann.Addresses[0].ID) }()
		if pgtest.Citus() {
			e.waitUntilBlocked(t, "-- name: LockAddressUserWrites%", deleted)
		}
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, <-deleted)
	got, err := e.GetUserWithAddresses(e.ctx, ann.ID, repo.Joined)
	require.NoError(t, err)
	require.Len(t, got.Addresses, 1)
	require.Equal(t, "ann@late.example", got.Addresses[0].Email)
	e.checkOwners(t, "after the delete")
}

// TestAddressesRaceDeleteUser: addresses are added to a user, and a user is
// registered with the next id, while both are deleted. Each call either
// commits before the delete (which then deletes its rows) or finds no user;
// no email_owners row outlives its address (on Citus an address and its
// owner row commit on two workers one after the other: the delete must wait
// for both), under both rule sets.
func TestAddressesRaceDeleteUser(t *testing.T) {
	t.Parallel()
	underEachOwnerRule(t, func(t *testing.T, e env) {
		const adds, rounds = 8, 6
		for round := range rounds {
			ann := e.mustRegister(t, "Ann", 30, fmt.Sprintf("ann-%d@example.com", round))
			next := ann.ID + 1 // the user RegisterUser below creates: ids come from one sequence
			var wg sync.WaitGroup
			start := make(chan struct{})
			addErrs := make([]error, adds)
			for i := range adds {
				wg.Go(func() {
					<-start
					_, addErrs[i] = e.AddAddress(e.ctx, ann.ID, fmt.Sprintf("ann-%d-%d@example.org", round, i))
				})
			}
			var registered repo.User
			var registerErr, deleteErr, deleteNextErr error
			wg.Go(func() {
				<-start
				registered, registerErr = e.RegisterUser(e.ctx, repo.NewUser{Name: "Bo", Age: 40},
					fmt.Sprintf("bo-%d@example.com", round), fmt.Sprintf("bo-%d@example.net", round))
			})
			wg.Go(func() { <-start; deleteErr = e.DeleteUser(e.ctx, ann.ID) })
			wg.Go(func() { <-start; deleteNextErr = e.DeleteUser(e.ctx, next) })
			close(start)
			wg.Wait()
			require.NoError(t, deleteErr, "round %d", round)
			for i, err := range addErrs {
				if err != nil {
					require.ErrorIs(t, err, repo.ErrNotFound, "round %d, AddAddress %d", round, i)
				}
			}
			require.NoError(t, registerErr, "round %d", round)
			require.Equal(t, next, registered.ID, "round %d: the registration took another id", round)
			if deleteNextErr != nil {
				require.ErrorIs(t, deleteNextErr, repo.ErrNotFound, "round %d", round)
			}
			e.checkOwners(t, fmt.Sprintf("round %d", round))
			_, err := e.GetUser(e.ctx, ann.ID)
			require.ErrorIs(t, err, repo.ErrNotFound, "round %d: the deleted user is back", round)
		}
	})
}
