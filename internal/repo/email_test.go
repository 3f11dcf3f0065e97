package repo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// One mailbox, two spellings: any letter case of any script, and either
// Unicode normalization form (composed or decomposed accents).
var sameMailbox = []struct{ name, stored, other string }{
	{"LatinAccent", "émile@example.com", "ÉMILE@example.com"},
	{"Greek", "οδυσσευς@example.gr", "ΟΔΥΣΣΕΥΣ@EXAMPLE.GR"},
	{"GreekFinalSigmaTyped", "οδυσσευσ@example.gr", "οδυσσευς@example.gr"},
	{"Cyrillic", "иван@пример.рф", "ИВАН@ПРИМЕР.РФ"},
	{"NFCAndNFD", "zoë@example.com", "zoe\u0308@example.com"},
	{"NFDUpper", "zoe\u0308@example.com", "ZOË@example.com"},
	{"DottedCapitalI", "i\u0307stanbul@example.com", "İSTANBUL@example.com"},
	{"KelvinSign", "kelvin@example.com", "\u212Aelvin@example.com"},
}

func TestEmailKeyUnicode(t *testing.T) {
	t.Parallel()
	for _, tc := range sameMailbox {
		t.Run(tc.name+"/ErrConflictAcrossRegistrations", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			first := e.mustRegister(t, "First", 30, tc.stored)
			require.Equal(t, tc.stored, first.Addresses[0].Email, "stored as given")
			_, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "Second", Age: 30}, tc.other)
			require.ErrorIs(t, err, repo.ErrConflict)
			_, err = e.AddAddress(e.ctx, first.ID, tc.other)
			require.ErrorIs(t, err, repo.ErrConflict)
			require.Equal(t, 1, e.rows(t, "addresses"))
		})
		t.Run(tc.name+"/ErrConflictInOneCall", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			_, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "Twice", Age: 30}, tc.stored, tc.other)
			require.ErrorIs(t, err, repo.ErrConflict)
			require.ErrorContains(t, err, "given twice", "refused by Go, before the database")
			require.Equal(t, 0, e.rows(t, "users"))
		})
		t.Run(tc.name+"/UpsertUpdates", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.mustRegister(t, "Old", 30, tc.stored)
			res, err := e.UpsertUsersByEmail(e.ctx, seqOf([]repo.UserImport{{Email: tc.other, Name: "New", Age: 31}}, 0), repo.BulkOptions{})
			require.NoError(t, err)
			require.Equal(t, repo.BulkResult{Batches: 1, Updated: 1}, res)
			got, err := e.GetUserWithAddresses(e.ctx, u.ID, repo.SelectIn)
			require.NoError(t, err)
			require.Equal(t, "New", got.Name)
			require.Equal(t, tc.stored, got.Addresses[0].Email, "the address keeps its spelling")
			require.Equal(t, 1, e.rows(t, "users"))
		})
		t.Run(tc.name+"/UpsertErrConflictInOneBatch", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			rows := []repo.UserImport{{Email: tc.stored, Name: "A", Age: 1}, {Email: tc.other, Name: "B", Age: 2}}
			_, err := e.UpsertUsersByEmail(e.ctx, seqOf(rows, 0), repo.BulkOptions{})
			require.ErrorIs(t, err, repo.ErrConflict)
			var rowErr *repo.RowError
			require.ErrorAs(t, err, &rowErr)
			require.EqualValues(t, 2, rowErr.Position)
			require.ErrorContains(t, err, "also in row 1")
			require.Equal(t, 0, e.rows(t, "users"))
		})
	}

	// Lower case, not case folding: ß and ss are two mailboxes, as in
	// PostgreSQL's lower() and Go's strings.ToLower.
	t.Run("SharpSIsNotSS", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.mustRegister(t, "Strasse", 30, "straße@example.com", "STRASSE@example.com")
		require.Equal(t, 2, e.rows(t, "addresses"))
	})

	// Combining marks new in Unicode 15.0: this server's normalize() orders them
	// otherwise than Go, so Go refuses them rather than disagree.
	t.Run("ErrInvalidUnstableKey", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		for _, email := range []string{"a\U0001E4EC\u0301@example.com", "a\U000E0080@example.com"} {
			_, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "Marks", Age: 30}, email)
			require.ErrorIs(t, err, repo.ErrInvalid)
			require.ErrorContains(t, err, "may not lower-case or normalize alike")
		}
	})
}

func TestUpsertUsersByEmailOneUserTwice(t *testing.T) {
	t.Parallel()
	rows := []repo.UserImport{
		{Email: "new@example.com", Name: "New", Age: 20},
		{Email: "bob@example.com", Name: "Robert", Age: 26},
		{Email: "BOB@WORK.COM", Name: "Bobby", Age: 27},
	}

	t.Run("ErrConflictInOneBatch", func(t *testing.T) {
		t.Parallel()
		for _, oneTx := range []bool{false, true} {
			e := newEnv(t)
			bob := e.mustRegister(t, "Bob", 25, "bob@example.com", "bob@work.com")
			_, err := e.UpsertUsersByEmail(e.ctx, seqOf(rows, 0), repo.BulkOptions{OneTransaction: oneTx})
			require.ErrorIs(t, err, repo.ErrConflict)
			var rowErr *repo.RowError
			require.ErrorAs(t, err, &rowErr)
			require.EqualValues(t, 3, rowErr.Position)
			require.Equal(t, "users", rowErr.Table)
			require.ErrorContains(t, err, "row 3 (users): conflict: its email and row 2's are two addresses of one user")
			got, err := e.GetUser(e.ctx, bob.ID)
			require.NoError(t, err)
			require.Equal(t, "Bob", got.Name, "the batch left nothing")
			require.Equal(t, 1, e.rows(t, "users"))
		}
	})

	t.Run("LaterBatchWins", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		bob := e.mustRegister(t, "Bob", 25, "bob@example.com", "bob@work.com")
		res, err := e.UpsertUsersByEmail(e.ctx, seqOf(rows, 0), repo.BulkOptions{BatchSize: 2})
		require.NoError(t, err)
		require.Equal(t, repo.BulkResult{Batches: 2, Users: 1, Addresses: 1, Updated: 2}, res)
		got, err := e.GetUser(e.ctx, bob.ID)
		require.NoError(t, err)
		require.Equal(t, "Bobby", got.Name, "rows apply in order across batches")
	})
}

// An email registered by a concurrent transaction after the upsert's merge
// looked is named by its row, from the statement's result rather than from
// the server's (translatable) message text.
func TestUpsertUsersByEmailConcurrentRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.mustRegister(t, "Owner", 40, "owner@example.com")
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()

	tx, err := e.pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	_, err = tx.Exec(ctx, ownedAddress, owner.ID, "Race@Example.com")
	require.NoError(t, err)

	rows := []repo.UserImport{
		{Email: "first@example.com", Name: "First", Age: 1},
		{Email: "race@example.com", Name: "Racer", Age: 2},
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.UpsertUsersByEmail(ctx, seqOf(rows, 0), repo.BulkOptions{})
		done <- err
	}()
	// The upsert waits on the uncommitted owner row (ON CONFLICT); commit it then.
	e.waitUntilBlocked(t, "-- name: InsertImportedUsers %", done)
	require.NoError(t, tx.Commit(ctx))

	err = <-done
	require.ErrorIs(t, err, repo.ErrConflict)
	var rowErr *repo.RowError
	require.ErrorAs(t, err, &rowErr)
	require.EqualValues(t, 2, rowErr.Position)
	require.Equal(t, "addresses", rowErr.Table)
	require.ErrorContains(t, err, `email "race@example.com" was registered by a concurrent transaction`)
	require.False(t, errors.Is(err, repo.ErrInvalid))
	require.Equal(t, 1, e.rows(t, "users"), "the batch left no user behind")
	require.Equal(t, 2, e.rows(t, "addresses"))
}

// TestUpsertUsersByEmailConcurrentDelete: a user deleted by a transaction
// that commits while the import waits for their row. The batch is refused,
// naming the row (not counted as unchanged: nothing took the imported
// name); run again, the email, free now, becomes a new user.
func TestUpsertUsersByEmailConcurrentDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.mustRegister(t, "Ann", 30, "ann@example.com")
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	rows := []repo.UserImport{
		{Email: "first@example.com", Name: "First", Age: 1},
		{Email: "ann@example.com", Name: "Annie", Age: 31},
	}
	done := make(chan error, 1)
	err := e.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
		if err := tx.DeleteUser(ctx, ann.ID); err != nil {
			return err
		}
		go func() {
			_, err := e.UpsertUsersByEmail(ctx, seqOf(rows, 0), repo.BulkOptions{})
			done <- err
		}()
		e.waitUntilBlocked(t, "-- name: UpdateImportedUsers %", done)
		return nil
	})
	require.NoError(t, err)

	err = <-done
	require.ErrorIs(t, err, repo.ErrConflict)
	var rowErr *repo.RowError
	require.ErrorAs(t, err, &rowErr)
	require.EqualValues(t, 2, rowErr.Position)
	require.Equal(t, "users", rowErr.Table)
	require.ErrorContains(t, err, `the user of email "ann@example.com" was deleted or changed by a concurrent transaction`)
	require.Equal(t, 0, e.rows(t, "users"), "the batch left no user behind")

	res, err := e.UpsertUsersByEmail(ctx, seqOf(rows, 0), repo.BulkOptions{})
	require.NoError(t, err)
	require.Equal(t, repo.BulkResult{Batches: 1, Users: 2, Addresses: 2}, res)
	e.checkOwners(t, "after the import")
}
