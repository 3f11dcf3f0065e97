package repo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// loadedTables are the tables InitialLoadGraphs writes (repo's initialTables),
// as an SQL regclass[].
var loadedTables = "'{" + strings.Join(repo.InitialTables(), ",") + "}'::regclass[]"

// indexCatalog describes every index of the loaded tables and every
// constraint on them or referring to them, by name, with all the catalog says
// of it that an initial load takes off and puts back.
func indexCatalog(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	return keyValues(t, pool, `
SELECT 'index ' || i.indexrelid::regclass,
       concat_ws(' | ', pg_get_indexdef(i.indexrelid), 'table=' || i.indrelid::regclass,
           'reloptions=' || coalesce(c.reloptions::text, ''), 'tablespace=' || coalesce(ts.spcname, ''),
           'unique=' || i.indisunique, 'primary=' || i.indisprimary, 'exclusion=' || i.indisexclusion,
           'immediate=' || i.indimmediate, 'clustered=' || i.indisclustered, 'valid=' || i.indisvalid,
           'ready=' || i.indisready, 'replident=' || i.indisreplident,
           'nullsnotdistinct=' || i.indnullsnotdistinct,
           'statistics=' || (SELECT array_agg(coalesce(a.attstattarget, -1) ORDER BY a.attnum)::text
                             FROM pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attnum > 0),
           'comment=' || coalesce(obj_description(i.indexrelid, 'pg_class'), ''))
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
WHERE i.indrelid = ANY(`+loadedTables+`)
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname,
       concat_ws(' | ', pg_get_constraintdef(oid), 'type=' || contype::text,
           'index=' || CASE WHEN contype <> 'f' THEN conindid::regclass::text END,
           'validated=' || convalidated, 'deferrable=' || condeferrable, 'deferred=' || condeferred,
           'comment=' || coalesce(obj_description(oid, 'pg_constraint'), ''))
FROM pg_constraint
WHERE conrelid = ANY(`+loadedTables+`) OR confrelid = ANY(`+loadedTables+`)`)
}

// column returns the first column of a query's rows.
func column(t *testing.T, pool *pgxpool.Pool, sql string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), sql)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

// TestInitialLoadKeepsIndexes: after an initial load, every index and
// constraint of the loaded tables is exactly as it was, with all that DROP
// takes besides the definition: storage parameters, tablespace, comments of
// the index and of the constraint, statistics targets, CLUSTER ON, REPLICA
// IDENTITY, DEFERRABLE, NOT VALID. Every index of the loaded tables gets
// them (primary keys, a unique constraint, unique, plain and expression
// indexes, an exclusion constraint), every other one moved to a tablespace.
//
// The cluster is the test's own: CREATE TABLESPACE needs a superuser, which
// its URL is, and Citus would need the tablespace on every worker (nor does
// it take CLUSTER ON).
func TestInitialLoadKeepsIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := pgtest.StartCluster(t, pgtest.Throwaway)
	pool := pgtest.PoolFor(t, pgtest.CreateDatabase(t, c, "inkwell"))
	exec := func(sql string) {
		t.Helper()
		_, err := pool.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}

	// In place (in pg_tblspc), so no folder need belong to the server's user;
	// not in a transaction, so on one connection.
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	for _, sql := range []string{"SET allow_in_place_tablespaces = on", "CREATE TABLESPACE moved LOCATION ''"} {
		_, err := conn.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}
	conn.Release()

	// What the schema lacks: a unique constraint (deferrable: its definition
	// ends with it), an exclusion constraint, a foreign key NOT VALID.
	table := column(t, pool, "SELECT t::text FROM unnest("+loadedTables+") t LIMIT 1")[0]
	exec("ALTER TABLE " + table + " ADD CONSTRAINT test_unique UNIQUE (id) DEFERRABLE INITIALLY DEFERRED")
	exec("ALTER TABLE " + table + " ADD CONSTRAINT test_exclusion EXCLUDE USING btree (id WITH =)")
	exec(column(t, pool, `SELECT format('ALTER TABLE %s ADD CONSTRAINT test_not_valid %s NOT VALID', conrelid::regclass, pg_get_constraintdef(oid))
		FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(`+loadedTables+`) LIMIT 1`)[0])

	// Every index gets a fillfactor and a comment of its own, every other
	// one goes to the tablespace, every expression column a statistics target.
	indexes := column(t, pool, `SELECT i.indexrelid::regclass::text FROM pg_index i
		WHERE i.indrelid = ANY(`+loadedTables+`) ORDER BY i.indrelid, i.indexrelid::regclass::text`)
	for n, index := range indexes {
		exec(fmt.Sprintf("ALTER INDEX %s SET (fillfactor = %d)", index, 50+n))
		exec(fmt.Sprintf("COMMENT ON INDEX %s IS 'index %d'", index, n))
		if n%2 == 0 {
			exec("ALTER INDEX " + index + " SET TABLESPACE moved")
		}
	}
	for _, s := range column(t, pool, `SELECT format('ALTER INDEX %s ALTER COLUMN %s SET STATISTICS %s', indexrelid::regclass, k.n, 100 + k.n)
		FROM pg_index, unnest(indkey) WITH ORDINALITY AS k(attnum, n)
		WHERE indrelid = ANY(`+loadedTables+`) AND k.attnum = 0`) {
		exec(s)
	}
	for _, s := range column(t, pool, `SELECT format('COMMENT ON CONSTRAINT %I ON %s IS %L', conname, conrelid::regclass, 'constraint ' || conname)
		FROM pg_constraint WHERE conrelid = ANY(`+loadedTables+`) OR confrelid = ANY(`+loadedTables+`)`) {
		exec(s)
	}
	// CLUSTER ON a plain index of each table that has one, REPLICA IDENTITY a
	// primary key.
	for _, s := range column(t, pool, `SELECT DISTINCT ON (indrelid) format('ALTER TABLE %s CLUSTER ON %s', indrelid::regclass, indexrelid::regclass)
		FROM pg_index WHERE indrelid = ANY(`+loadedTables+`) AND NOT indisunique ORDER BY indrelid, indexrelid`) {
		exec(s)
	}
	exec(column(t, pool, `SELECT format('ALTER TABLE %s REPLICA IDENTITY USING INDEX %s', indrelid::regclass, indexrelid::regclass)
		FROM pg_index WHERE indrelid = ANY(`+loadedTables+`) AND indisprimary LIMIT 1`)[0])

	before := indexCatalog(t, pool)
	// Every kind is there, with what was set on it.
	kinds := column(t, pool, `SELECT DISTINCT CASE
			WHEN c.contype = 'p' THEN 'primary key' WHEN c.contype = 'u' THEN 'unique constraint'
			WHEN c.contype = 'x' THEN 'exclusion constraint' WHEN 0 = ANY(i.indkey) THEN 'expression index'
			WHEN i.indisunique THEN 'unique index' ELSE 'index' END
		FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.contype <> 'f'
		WHERE i.indrelid = ANY(`+loadedTables+`)`)
	require.ElementsMatch(t, []string{"primary key", "unique constraint", "exclusion constraint", "expression index", "unique index", "index"}, kinds)
	require.Len(t, before, len(indexes)+len(column(t, pool, `SELECT conname::text FROM pg_constraint
		WHERE conrelid = ANY(`+loadedTables+`) OR confrelid = ANY(`+loadedTables+`)`)))
	for k, v := range before {
		require.NotRegexp(t, `comment=$`, v, k)
		if strings.HasPrefix(k, "index ") {
			require.Contains(t, v, "reloptions={fillfactor=", k)
		}
	}
	all := fmt.Sprint(before)
	for _, set := range []string{"tablespace=moved", "tablespace= ", "clustered=true", "replident=true",
		"validated=false", "deferred=true", "statistics={101}"} {
		require.Contains(t, all, set)
	}

	_, err = repo.New(pool).InitialLoadGraphs(ctx, fakeGraphs(11, 200), repo.InitialLoadOptions{})
	require.NoError(t, err)
	after := indexCatalog(t, pool)
	require.Equal(t, before, after)
}

// TestInitialLoadChecksNotValidForeignKeys: a foreign key NOT VALID checks
// the rows written after it was added, so the loaded ones too, and comes
// back NOT VALID.
func TestInitialLoadChecksNotValidForeignKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	// Every user's id a tag's: the load has far more users than tags.
	_, err := pool.Exec(ctx, "ALTER TABLE users ADD CONSTRAINT users_id_tag FOREIGN KEY (id) REFERENCES tags (id) NOT VALID")
	require.NoError(t, err)
	before := catalog(t, pool)
	require.Contains(t, before["constraint users users_id_tag"], "convalidated=false")

	_, err = repo.New(pool).InitialLoadGraphs(ctx, fakeGraphs(12, 200), repo.InitialLoadOptions{})
	require.ErrorIs(t, err, repo.ErrNotFound)
	var rowErr *repo.RowError
	require.ErrorAs(t, err, &rowErr)
	require.Equal(t, "users", rowErr.Table)
	require.ErrorContains(t, err, "users_id_tag")
	nothingStayed(t, pool, before, 0)
}

// TestInitialLoadPartitionedReferrer: a user's partitioned table with a
// foreign key to users. Each partition holds a copy of that key, which
// cannot be dropped alone (42P16): the load takes the partitioned table's
// off and puts it back, the partitions' with it, each named as it was (an
// attached partition keeps its own key's name, a sub-partition's copy too)
// and with its comment.
func TestInitialLoadPartitionedReferrer(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	for _, s := range []string{
		`CREATE TABLE user_events (user_id bigint NOT NULL REFERENCES users (id), at int NOT NULL) PARTITION BY RANGE (at)`,
		`CREATE TABLE user_events_1 PARTITION OF user_events FOR VALUES FROM (0) TO (100)`,
		`CREATE TABLE user_events_2 PARTITION OF user_events FOR VALUES FROM (100) TO (200) PARTITION BY LIST (at)`,
		`CREATE TABLE user_events_2a PARTITION OF user_events_2 FOR VALUES IN (150)`,
		`ALTER TABLE user_events_2a RENAME CONSTRAINT user_events_user_id_fkey TO user_events_2a_own_fkey`,
		`CREATE TABLE user_events_3 (user_id bigint NOT NULL, at int NOT NULL,
			CONSTRAINT user_events_3_own_fkey FOREIGN KEY (user_id) REFERENCES users (id))`,
		`COMMENT ON CONSTRAINT user_events_3_own_fkey ON user_events_3 IS 'attached with its own key'`,
		`ALTER TABLE user_events ATTACH PARTITION user_events_3 FOR VALUES FROM (200) TO (300)`,
	} {
		_, err := pool.Exec(ctx, s)
		require.NoError(t, err, s)
	}
	var copies int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_constraint
		WHERE conparentid <> 0 AND contype = 'f' AND confrelid = 'users'::regclass`).Scan(&copies))
	require.Equal(t, 4, copies, "each partition has its copy of the key")
	before := catalog(t, pool)

	_, err := repo.New(pool).InitialLoadGraphs(ctx, fakeGraphs(3, 50), repo.InitialLoadOptions{})
	require.NoError(t, err)
	require.Equal(t, before, catalog(t, pool))
	_, err = pool.Exec(ctx, `INSERT INTO user_events VALUES (-1, 150)`)
	require.ErrorContains(t, err, "23503", "the partitions' keys are back")
}
