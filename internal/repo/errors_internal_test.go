package repo

import (
	"context"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// TestSessionEndedByServer: a session the server ends (its idle timeouts, a
// dropped database) is ErrUnavailable, like a terminated backend.
func TestSessionEndedByServer(t *testing.T) {
	t.Parallel()
	for _, code := range []string{pgerrcode.IdleInTransactionSessionTimeout, pgerrcode.IdleSessionTimeout,
		pgerrcode.DatabaseDropped, pgerrcode.AdminShutdown} {
		err := dbError(context.Background(), &pgconn.PgError{Severity: "FATAL", Code: code})
		require.ErrorIs(t, err, ErrUnavailable, code)
	}
}
