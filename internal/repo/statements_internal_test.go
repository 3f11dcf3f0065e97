package repo

import (
	"errors"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// TestStillReferenced: which statements make a foreign key violation a
// "still referenced" conflict. The server reports the referencing table.
func TestStillReferenced(t *testing.T) {
	t.Parallel()
	pgErr := &pgconn.PgError{Code: pgerrcode.ForeignKeyViolation, TableName: "comments"}
	for sql, want := range map[string]bool{
		"-- name: DeleteUser :execrows\nDELETE FROM users WHERE id = $1":                   true,
		"/* c */ delete from users":                                                        true,
		"UPDATE users SET id = $1 WHERE id = $2":                                           true, // re-keys the referenced row
		"UPDATE ONLY public.users SET id = 1":                                              true,
		"UPDATE comments SET user_id = $1":                                                 false, // points the referencing row elsewhere
		`update "comments" set user_id = 1`:                                                false,
		"-- name: CreatePost :one\nINSERT INTO posts":                                      false,
		"WITH d AS (DELETE FROM users) SELECT 1":                                           true,  // a delete in a WITH query
		"WITH d AS (DELETE FROM users RETURNING id) INSERT INTO comments SELECT id FROM d": false, // writes the referencing table
		"INSERT INTO comments VALUES (1) ON CONFLICT (id) DO UPDATE SET user_id = 2":       false,
		"DELETE FROM users WHERE name = 'it''s an insert into comments'":                   true, // literals are skipped
		`UPDATE "Comments" SET user_id = 1`:                                                true, // another table than comments
		"update  only\n\tusers set id=2":                                                   true,
		"":                                                                                 false,
	} {
		t.Run(sql, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, want, stillReferenced(withStatement(sql, pgErr), pgErr))
		})
	}
	require.False(t, stillReferenced(pgErr, pgErr), "a statement we did not see")
	quoted := &pgconn.PgError{Code: pgerrcode.ForeignKeyViolation, TableName: "Comments"}
	require.False(t, stillReferenced(withStatement(`UPDATE public."Comments" SET user_id = 1`, quoted), quoted),
		"a quoted name keeps its case")
	other := errors.New("other")
	require.Same(t, other, withStatement("DELETE FROM x", other), "other errors pass unchanged")
}
