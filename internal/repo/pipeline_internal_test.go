package repo

import (
	"cmp"
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
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

// readPipelined's batch runs in a READ ONLY transaction; a statement that
// fails there leaves it aborted, and it is rolled back so that the pool
// keeps the connection rather than replace it.
func TestReadPipelinedFailureKeepsTheConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t, func(c *pgxpool.Config) { c.MaxConns = 1 })
	read := func() error {
		_, err := readPipelined(ctx, pool, func(q *dbgen.Queries) (dbgen.User, error) {
			u, err := q.GetUser(ctx, 1)
			if errors.Is(err, pgx.ErrNoRows) {
				err = nil
			}
			return u, err
		})
		return err
	}
	require.NoError(t, read())
	conns := pool.Stat().NewConnsCount()

	_, err := readPipelined(ctx, pool, func(q *dbgen.Queries) (dbgen.User, error) {
		return q.CreateUser(ctx, dbgen.CreateUserParams{Name: "Read only", Age: 1})
	})
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	require.Equal(t, pgerrcode.ReadOnlySQLTransaction, pgErr.Code)

	require.NoError(t, read())
	require.Equal(t, conns, pool.Stat().NewConnsCount(), "the failed read's connection was replaced")
}
