package repo_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestGetUserAllocatesAsPgx: GetUser's own path (routing, the generated
// queries, the conversion) adds no allocation to what hand-written pgx on a
// pool allocates for the same row. Not parallel: AllocsPerRun counts the
// whole process's allocations, and parallel tests wait for this one.
func TestGetUserAllocatesAsPgx(t *testing.T) {
	pool := pgtest.NewPool(t)
	base, err := pgxpool.New(bg, pool.Config().ConnString())
	require.NoError(t, err)
	t.Cleanup(base.Close)
	r := repo.New(pool)
	u, err := r.CreateUser(bg, repo.NewUser{Name: "Allocs", Age: 30})
	require.NoError(t, err)

	var scanErr error
	handWritten := testing.AllocsPerRun(200, func() {
		var got repo.User
		scanErr = base.QueryRow(bg, "SELECT id, name, age, created_at FROM users WHERE id = $1", u.ID).
			Scan(&got.ID, &got.Name, &got.Age, &got.CreatedAt)
	})
	require.NoError(t, scanErr)
	ours := testing.AllocsPerRun(200, func() { _, scanErr = r.GetUser(bg, u.ID) })
	require.NoError(t, scanErr)
	t.Logf("allocations per GetUser: inkwell %.0f, pgx %.0f", ours, handWritten)
	require.LessOrEqual(t, ours, handWritten, "GetUser allocates more than pgx for the same row")
}
