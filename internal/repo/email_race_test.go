package repo_test

import (
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestRegisterUserRaceAnyCase: many registrations of one email at once, each
// in another letter case, each its own user (on Citus, users whose ids fall
// on different shards, so no one shard's unique index can decide): exactly
// one wins, every other gets ErrConflict naming the email as it gave it, and
// no user, address or email owner is left behind by the losers.
func TestRegisterUserRaceAnyCase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const racers = 24
	emails := make([]string, racers)
	for i := range racers {
		// race@example.com in a case of its own: bit k of i uppercases the k-th letter.
		var b strings.Builder
		k := 0
		for _, r := range "race@example.com" {
			if unicode.IsLetter(r) {
				if i>>k&1 == 1 {
					r = unicode.ToUpper(r)
				}
				k++
			}
			b.WriteRune(r)
		}
		emails[i] = b.String()
	}
	errs := make([]error, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			_, errs[i] = e.RegisterUser(e.ctx, repo.NewUser{Name: "Racer", Age: 20}, emails[i], "own"+string(rune('a'+i))+"@example.com")
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		if err == nil {
			won++
			continue
		}
		require.ErrorIs(t, err, repo.ErrConflict, "racer %d", i)
		require.ErrorContains(t, err, `email "`+emails[i]+`" is already registered`)
	}
	require.Equal(t, 1, won)
	require.Equal(t, 1, e.rows(t, "users"), "losers left no user behind")
	require.Equal(t, 2, e.rows(t, "addresses"), "only the winner's addresses")
	require.Equal(t, 2, e.rows(t, "email_owners"), "only the winner's emails are owned")
	e.checkOwners(t, "after the race")

	if pgtest.Citus() {
		// Every racer drew a user id (the losers' were rolled back): those ids
		// fall on several shards, on more than one worker.
		var shards, workers int
		require.NoError(t, e.pool.QueryRow(e.ctx, `SELECT count(DISTINCT s.shardid), count(DISTINCT s.nodeport)
			FROM generate_series(1, $1::bigint) AS id
			JOIN citus_shards s ON s.shardid = get_shard_id_for_distribution_column('users', id)`, racers).Scan(&shards, &workers))
		require.Greater(t, shards, 1)
		require.Greater(t, workers, 1)
	}
}
