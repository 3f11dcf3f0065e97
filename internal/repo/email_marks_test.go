package repo_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestEmailMarkRunRefused: an email with a long run of combining marks,
// whose key Go's NFC and the server's would compute apart (Go inserts U+034F
// after 30), is refused by every way in, Go's and the schema's alike, so
// that one mailbox cannot be registered twice.
func TestEmailMarkRunRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := "a" + strings.Repeat("\u0301", 31) + "@example.com"
	_, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "Marked", Age: 30}, email)
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = e.BulkInsertGraphs(e.ctx, func(yield func(repo.UserGraph, error) bool) {
		yield(repo.UserGraph{User: repo.NewUser{Name: "Marked", Age: 30}, Emails: []string{email}}, nil)
	}, repo.BulkOptions{})
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = e.UpsertUsersByEmail(e.ctx, func(yield func(repo.UserImport, error) bool) {
		yield(repo.UserImport{Email: email, Name: "Marked", Age: 30}, nil)
	}, repo.BulkOptions{})
	require.ErrorIs(t, err, repo.ErrInvalid)
	u := e.mustRegister(t, "Other", 30)
	_, err = e.pool.Exec(e.ctx, "INSERT INTO addresses (user_id, email) VALUES ($1, $2)", u.ID, email)
	require.ErrorIs(t, repo.DBError(e.ctx, err), repo.ErrInvalid, "the schema refuses it too: %v", err)
	require.Zero(t, e.rows(t, "addresses"))
}
