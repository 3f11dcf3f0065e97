package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// rows renders a query's rows, one line each.
func rows(t *testing.T, url, query string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rs, err := conn.Query(ctx, query)
	require.NoError(t, err)
	var b strings.Builder
	for rs.Next() {
		values, err := rs.Values()
		require.NoError(t, err)
		fmt.Fprintln(&b, values...)
	}
	require.NoError(t, rs.Err())
	return b.String()
}

// TestBaselineLoadsWhatSeedLoads: the benchmark compares like with like. The
// plain pgx load writes the same generated rows as cmd/seed, which writes the
// tutorial's people (8 users, 10 addresses, 4 posts) first.
func TestBaselineLoadsWhatSeedLoads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := config{users: 450, addressesPerUser: 2, postsPerUser: 3, tags: 12, seed: 77, batchSize: 100}

	raw := pgtest.URL(t)
	cfg.databaseURL = raw
	require.NoError(t, rawLoad(ctx, cfg))

	seeded := pgtest.URL(t)
	bin := filepath.Join(t.TempDir(), "seed")
	out, err := exec.Command("go", "build", "-o", bin, "../seed").CombinedOutput()
	require.NoError(t, err, "%s", out)
	cmd := exec.Command(bin, "--users", "450", "--addresses-per-user", "2", "--posts-per-user", "3",
		"--tags", "12", "--seed", "77", "--batch-size", "100")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+seeded)
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	rawCounts, err := tableCounts(ctx, raw)
	require.NoError(t, err)
	seedCounts, err := tableCounts(ctx, seeded)
	require.NoError(t, err)
	for table, n := range tutorialRows {
		seedCounts[table] -= n
	}
	require.Equal(t, rawCounts, seedCounts)
	require.EqualValues(t, 450, rawCounts["users"])

	require.Equal(t,
		rows(t, raw, "SELECT name, age FROM users ORDER BY id"),
		rows(t, seeded, "SELECT name, age FROM users WHERE id > 8 ORDER BY id"))
	require.Equal(t,
		rows(t, raw, "SELECT email FROM addresses ORDER BY id"),
		rows(t, seeded, "SELECT email FROM addresses WHERE id > 10 ORDER BY id"))
	require.Equal(t,
		rows(t, raw, "SELECT title, content, published, rating FROM posts ORDER BY id"),
		rows(t, seeded, "SELECT title, content, published, rating FROM posts WHERE id > 4 ORDER BY id"))
	tagsOfPosts := `SELECT p.title, string_agg(t.name, ',' ORDER BY t.name) FROM posts p
		JOIN post_tags pt ON pt.user_id = p.user_id AND pt.post_id = p.id JOIN tags t ON t.id = pt.tag_id %s GROUP BY p.user_id, p.id ORDER BY p.id`
	require.Equal(t,
		rows(t, raw, fmt.Sprintf(tagsOfPosts, "")),
		rows(t, seeded, fmt.Sprintf(tagsOfPosts, "WHERE p.id > 4")))
}

// TestMalformedURL: a database URL that does not parse is refused before
// anything runs, and no fragment of its password is printed.
func TestMalformedURL(t *testing.T) {
	t.Parallel()
	const password = "hunter2@s3cr3tpart"
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"-database-url", "postgres://bob:" + password + "@localhost:notaport/db"}, &stdout, &stderr)
	require.Equal(t, 2, code)
	require.Contains(t, stderr.String(), "invalid input: database URL: invalid port")
	for i := range len(password) - 3 {
		require.NotContains(t, stderr.String(), password[i:i+4])
	}
}
