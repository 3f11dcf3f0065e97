package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// refusedLine returns the one line of errOut that says the initial load was
// refused and the users go in batches instead.
func refusedLine(t *testing.T, errOut string) string {
	t.Helper()
	var found []string
	for line := range strings.Lines(errOut) {
		if strings.HasPrefix(line, "initial load: refused: ") {
			found = append(found, line)
		}
	}
	require.Len(t, found, 1, errOut)
	require.True(t, strings.HasSuffix(found[0], "; adding the users in batches instead\n"), found[0])
	return found[0]
}

// TestSeedLoadRefused: when the initial load cannot start (here a view
// depends on users' key, which the load takes off; or the role may not
// alter the tables), --load auto adds the users in batches, saying why in
// one line, and --load initial fails saying so, changing nothing.
func TestSeedLoadRefused(t *testing.T) {
	t.Parallel()

	t.Run("DependentView", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		url := pgtest.URL(t)
		conn, err := pgx.Connect(ctx, url)
		require.NoError(t, err)
		defer conn.Close(ctx)
		// Grouping by users' key, it selects users' other columns: it
		// depends on the key (a functional dependency).
		_, err = conn.Exec(ctx, `CREATE VIEW user_post_counts AS
			SELECT u.id, u.name, count(p.id) AS posts FROM users u LEFT JOIN posts p ON p.user_id = u.id GROUP BY u.id`)
		require.NoError(t, err)
		var key string
		require.NoError(t, conn.QueryRow(ctx, `SELECT conname FROM pg_constraint
			WHERE conrelid = 'users'::regclass AND contype = 'p'`).Scan(&key))
		before := schema(t, url)

		code, _, errOut := seedRun(t, "--database-url", url, "--users", "20", "--seed", "31", "--load", "initial")
		require.Equal(t, 1, code, errOut)
		require.Contains(t, errOut, "seed: initial load: refused: cannot take "+key+" off for the load: view user_post_counts depends on constraint "+key)
		require.Contains(t, errOut, "(--load batched adds the users in batches)")
		require.Contains(t, errOut, "the initial load was rolled back: nothing of it was written")
		require.Equal(t, before, schema(t, url))
		require.Zero(t, counts(t, url)["users"])

		code, out, errOut := seedRun(t, "--database-url", url, "--users", "20", "--seed", "31")
		require.Equal(t, 0, code, errOut)
		require.Equal(t, tutorialOutput, out)
		require.Contains(t, refusedLine(t, errOut), "view user_post_counts depends on constraint "+key)
		require.Contains(t, errOut, "committed 1 batch: users 20,")
		require.Equal(t, 8+20, counts(t, url)["users"])
		require.Equal(t, before, schema(t, url))
	})

	t.Run("ErrNotEmpty", func(t *testing.T) {
		t.Parallel()
		url := pgtest.URL(t)
		code, _, errOut := seedRun(t, "--database-url", url) // the tutorial's people
		require.Equal(t, 0, code, errOut)
		code, _, errOut = seedRun(t, "--database-url", url, "--users", "10", "--seed", "32")
		require.Equal(t, 0, code, errOut)
		require.Contains(t, refusedLine(t, errOut), "table not empty: table users has rows")
		require.Contains(t, errOut, "committed 1 batch: users 10,")
	})

	t.Run("ErrPermission", func(t *testing.T) {
		t.Parallel()
		// A migrating role that may read goose's table but owns no table:
		// the load is refused before anything is locked.
		ctx := context.Background()
		c := pgtest.StartCluster(t, pgtest.Throwaway)
		superURL := pgtest.CreateDatabase(t, c, "inkwell")
		conn, err := pgx.Connect(ctx, superURL)
		require.NoError(t, err)
		defer conn.Close(ctx)
		require.NoError(t, migrate.SetupRoles(ctx, conn))
		_, err = conn.Exec(ctx, `CREATE ROLE loader LOGIN;
			GRANT USAGE ON SCHEMA public TO loader;
			GRANT SELECT ON goose_db_version TO loader;
			GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO loader`)
		require.NoError(t, err)
		as := func(role string) string { return strings.Replace(superURL, "postgres@", role+"@", 1) }
		require.NotEqual(t, superURL, as("loader"))

		args := []string{"--migrate-url", as("loader"), "--database-url", as(migrate.AppRole), "--users", "10", "--seed", "33"}
		code, _, errOut := seedRun(t, append(args, "--load", "initial")...)
		require.Equal(t, 1, code, errOut)
		require.Contains(t, errOut, "permission denied: role loader cannot alter the tables")
		require.Contains(t, errOut, "(pass the schema owner's URL as --migrate-url, or --load batched)")

		code, _, errOut = seedRun(t, args...)
		require.Equal(t, 0, code, errOut)
		require.Contains(t, refusedLine(t, errOut), "permission denied: role loader cannot alter the tables owned by "+migrate.OwnerRole)
		require.Contains(t, errOut, "committed 1 batch: users 10,")
	})
}
