package migrate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/db"
	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// schemaOf describes the public schema: every column, constraint and index,
// one line each, sorted. On Citus, the schema is that of the tables, not of
// their shards (the coordinator holds a shard of each reference table, named
// by a shard id that changes each time a table is distributed anew), and
// includes how each table is distributed.
func schemaOf(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	notShard, distribution := "", ""
	if pgtest.Citus() {
		notShard = "AND NOT relation_is_a_known_shard(conrelid)"
		distribution = `UNION ALL
		SELECT format('%s %s %s %s', table_name, citus_table_type, distribution_column, shard_count)
		FROM citus_tables`
	}
	rows, err := pool.Query(context.Background(), `
		SELECT format('%s.%s %s %s', table_name, column_name, data_type, is_nullable)
		FROM information_schema.columns WHERE table_schema = 'public'
		UNION ALL
		SELECT format('%s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
		FROM pg_constraint WHERE connamespace = 'public'::regnamespace `+notShard+`
		UNION ALL
		SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
		`+distribution+`
		ORDER BY 1`)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return lines
}

// TestKeysByUserMigration: the migration that keys rows by user, up, down
// and up again on a database with rows: its backfills (post_tags.user_id
// from the posts, email_owners from the addresses) are right, down brings
// the schema back exactly with the rows kept, and up again gives the schema
// of a freshly migrated database.
func TestKeysByUserMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	names, versions := pgtest.Migrations(t, db.Migrations())
	var version int64
	for i, n := range names {
		if strings.HasSuffix(n, "_keys_by_user.sql") {
			version = versions[i]
		}
	}
	require.NotZero(t, version, "the migration is embedded: %v", names)

	pool := pgtest.NewPool(t)
	latest := schemaOf(t, pool)
	p, err := migrate.NewProviderFS(openDB(t, pool), db.Migrations())
	require.NoError(t, err)
	_, err = p.DownTo(ctx, version-1)
	require.NoError(t, err)
	before := schemaOf(t, pool)
	require.NotEqual(t, latest, before)

	_, err = pool.Exec(ctx, `
		INSERT INTO users (id, name) VALUES (1, 'Ann'), (2, 'Ben');
		INSERT INTO addresses (id, user_id, email) VALUES (1, 1, 'Ann@Example.com'), (2, 1, 'ann@work.example'), (3, 2, 'BEN@EXAMPLE.COM');
		INSERT INTO posts (id, user_id, title) VALUES (1, 1, 'Ann''s'), (2, 2, 'Ben''s');
		INSERT INTO tags (id, name) VALUES (1, 'go'), (2, 'sql');
		INSERT INTO post_tags (post_id, tag_id) VALUES (1, 1), (1, 2), (2, 2)`)
	require.NoError(t, err)
	rows := func(sql string) []string {
		t.Helper()
		r, err := pool.Query(ctx, sql)
		require.NoError(t, err)
		got, err := pgx.CollectRows(r, pgx.RowTo[string])
		require.NoError(t, err)
		return got
	}
	const (
		addresses = "SELECT format('%s %s %s', id, user_id, email) FROM addresses ORDER BY id"
		postTags  = "SELECT format('%s %s', post_id, tag_id) FROM post_tags ORDER BY 1"
	)
	oldAddresses, oldPostTags := rows(addresses), rows(postTags)

	_, err = p.UpTo(ctx, version)
	require.NoError(t, err)
	require.Equal(t, []string{"1 1 1", "1 1 2", "2 2 2"},
		rows("SELECT format('%s %s %s', user_id, post_id, tag_id) FROM post_tags ORDER BY 1"), "post_tags.user_id is the post's user")
	require.Equal(t, []string{"ann@example.com 1 1", "ann@work.example 1 2", "ben@example.com 2 3"},
		rows("SELECT format('%s %s %s', email_key, user_id, address_id) FROM email_owners ORDER BY 1"), "one owner per address")

	_, err = p.DownTo(ctx, version-1)
	require.NoError(t, err)
	require.Equal(t, before, schemaOf(t, pool), "down undoes up exactly")
	require.Equal(t, oldAddresses, rows(addresses))
	require.Equal(t, oldPostTags, rows(postTags))

	_, err = p.Up(ctx)
	require.NoError(t, err)
	require.Equal(t, latest, schemaOf(t, pool), "up again: the schema of a fresh database")
	require.Equal(t, oldAddresses, rows(addresses))
}
