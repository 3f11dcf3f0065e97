package repo_test

import (
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestPooler proves which way the suite's connections go: straight to the
// server, or, with pgtest.PgBouncerEnv set, through PgBouncer in transaction
// mode, where the whole suite then runs (make test runs it both ways).
func TestPooler(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var serverPort int
	require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT inet_server_port()").Scan(&serverPort))
	dialed := int(e.pool.Config().ConnConfig.Port)
	if os.Getenv(pgtest.PgBouncerEnv) != "" {
		require.NotEqual(t, serverPort, dialed, "connections go through PgBouncer")
		require.Equal(t, pgx.QueryExecModeCacheDescribe, e.pool.Config().ConnConfig.DefaultQueryExecMode)
	} else {
		require.Equal(t, serverPort, dialed, "connections go straight to the server")
	}

	// Pooler mode through OpenPool, on whatever the suite connects to.
	pool, err := repo.OpenPool(e.ctx, e.pool.Config().ConnString(), repo.PoolConfig{Pooler: true, MaxConns: 3})
	require.NoError(t, err)
	defer pool.Close()
	require.Equal(t, pgx.QueryExecModeCacheDescribe, pool.Config().ConnConfig.DefaultQueryExecMode)
	r := repo.New(pool)
	for range 5 { // more statements than connections, each transaction on any server connection
		u, err := r.RegisterUser(e.ctx, repo.NewUser{Name: "Pooled", Age: 1})
		require.NoError(t, err)
		_, err = r.GetUserWithAddresses(e.ctx, u.ID, repo.SelectIn)
		require.NoError(t, err)
	}
}
