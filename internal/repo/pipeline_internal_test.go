package repo

import (
	"cmp"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// A pipelined body replays the batch's results in the order it recorded its
// statements: one that asks for something else the second time (here, by
// its arguments) gets errNotPipelined, never another statement's result.
func TestPipelinedBodyMustRepeatItself(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	runs := int64(0)
	_, err := pipelined(ctx, pool, func(q *dbgen.Queries) (dbgen.User, error) {
		runs++
		return q.GetUser(ctx, runs) // another id when replayed
	})
	require.ErrorIs(t, err, errNotPipelined)

	// Repeating itself, it gets the results: two statements, one batch.
	u, err := pipelined(ctx, pool, func(q *dbgen.Queries) (dbgen.User, error) {
		created, err := q.CreateUser(ctx, dbgen.CreateUserParams{Name: "Piped", Age: 1})
		found, ferr := q.GetUserByName(ctx, "Piped") // sees the insert before it
		if err == nil && ferr == nil && found.ID != created.ID {
			t.Errorf("found user %d, created %d", found.ID, created.ID)
		}
		return found, cmp.Or(err, ferr)
	})
	require.NoError(t, err)
	require.Equal(t, "Piped", u.Name)
}
