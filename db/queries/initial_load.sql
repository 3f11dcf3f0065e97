-- name: InitialLoadNotOwned :many
-- The catalog reads of an initial load (Repo.InitialLoadGraphs): @tables are
-- the loaded tables' names; keys, indexes and foreign keys come from the
-- catalog, so that a table a user adds is covered.
-- The loaded tables, and the tables whose foreign keys refer to them, that
-- the current role cannot alter: it neither owns them nor is a member of
-- their owner.
SELECT c.oid::regclass::text AS table_name,
       pg_catalog.pg_get_userbyid(c.relowner)::text AS owner,
       current_user::text AS role
FROM pg_catalog.pg_class c
WHERE (c.oid = ANY((@tables::text[])::regclass[])
       OR c.oid IN (SELECT f.conrelid FROM pg_catalog.pg_constraint f
                    WHERE f.contype = 'f' AND f.confrelid = ANY((@tables::text[])::regclass[])))
  AND NOT pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE')
ORDER BY 1;

-- name: InitialLoadReferrers :many
-- The tables, other than @tables, whose foreign keys refer to them: an
-- initial load locks them too. Catalog rows only, and no pg_get_* function:
-- those read the catalog through the syscache, and pg_get_indexdef takes an
-- ACCESS SHARE lock on the index's table. Run before the lock, while another
-- load holds it, such a read waits with the snapshot it took before, then
-- meets the catalog that load committed ("cache lookup failed").
SELECT DISTINCT f.conrelid::regclass::text AS table_name
FROM pg_catalog.pg_constraint f
WHERE f.contype = 'f'
  AND f.confrelid = ANY((@tables::text[])::regclass[])
  AND NOT f.conrelid = ANY((@tables::text[])::regclass[])
ORDER BY 1;

-- name: InitialLoadConstraints :many
-- Keys (primary, unique, exclusion) of the loaded tables, and foreign keys
-- from or to them, with what DROP would lose besides the definition (for a
-- key, of its index too: see InitialLoadIndexes). pg_get_constraintdef
-- leaves a primary or unique key's storage parameters out (an exclusion
-- constraint's are in): storage is them as WITH takes them, '' for none.
SELECT c.conrelid::regclass::text AS table_name,
       pg_catalog.quote_ident(c.conname)::text AS name,
       pg_catalog.pg_get_constraintdef(c.oid)::text AS definition,
       coalesce(pg_catalog.obj_description(c.oid, 'pg_constraint'), '')::text AS comment,
       (c.contype = 'f')::boolean AS foreign_key,
       c.condeferrable AS deferrable,
       c.condeferred AS deferred,
       c.convalidated AS validated,
       coalesce(i.indisclustered, false)::boolean AS clustered,
       coalesce(i.indisreplident, false)::boolean AS replica_identity,
       coalesce(pg_catalog.obj_description(i.indexrelid, 'pg_class'), '')::text AS index_comment,
       coalesce(CASE WHEN c.contype IN ('p', 'u') THEN
            (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(o.option_name) || '=' || pg_catalog.quote_literal(o.option_value), ', ')
             FROM pg_catalog.pg_options_to_table(ic.reloptions) o)
        END, '')::text AS storage,
       coalesce(ts.spcname, '')::text AS tablespace,
       coalesce((SELECT pg_catalog.array_agg(coalesce(a.attstattarget, -1)::int4 ORDER BY a.attnum)
                 FROM pg_catalog.pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attnum > 0), '{}')::int4[] AS statistics
FROM pg_catalog.pg_constraint c
LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.conindid AND c.contype <> 'f'
LEFT JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_tablespace ts ON ts.oid = ic.reltablespace
WHERE ((c.contype IN ('p', 'u', 'x') AND c.conrelid = ANY((@tables::text[])::regclass[]))
       OR (c.contype = 'f' AND (c.conrelid = ANY((@tables::text[])::regclass[]) OR c.confrelid = ANY((@tables::text[])::regclass[]))))
  -- Not a partition's copy of a partitioned table's foreign key: it cannot
  -- be dropped alone (42P16); it goes and comes back with its parent's.
  AND c.conparentid = 0
ORDER BY c.contype = 'f', 1, 2;

-- name: InitialLoadIndexes :many
-- Indexes of the loaded tables that no key owns, with what DROP would lose
-- besides the definition: the comment, CLUSTER ON, REPLICA IDENTITY, the
-- tablespace ('' for the database's; pg_get_indexdef leaves it out) and
-- each column's statistics target (-1 for the default).
SELECT i.indrelid::regclass::text AS table_name,
       i.indexrelid::regclass::text AS name,
       pg_catalog.pg_get_indexdef(i.indexrelid)::text AS definition,
       coalesce(pg_catalog.obj_description(i.indexrelid, 'pg_class'), '')::text AS comment,
       i.indisclustered AS clustered,
       i.indisreplident AS replica_identity,
       coalesce(ts.spcname, '')::text AS tablespace,
       coalesce((SELECT pg_catalog.array_agg(coalesce(a.attstattarget, -1)::int4 ORDER BY a.attnum)
                 FROM pg_catalog.pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attnum > 0), '{}')::int4[] AS statistics
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_tablespace ts ON ts.oid = ic.reltablespace
WHERE i.indrelid = ANY((@tables::text[])::regclass[])
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c
                  WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
ORDER BY 1, 2;

-- name: InitialLoadDefaultTablespace :exec
-- The tablespace the next keys and indexes are built in, for the
-- transaction only ('' for the database's).
SELECT pg_catalog.set_config('default_tablespace', @tablespace::text, true);

-- name: InitialLoadTables :many
-- Each loaded table, read before its foreign keys come off: whether COPY
-- may FREEZE it (a plain table), the loaded tables it refers to, and the
-- identity or serial sequence of its id column with the first id the load
-- hands out, taken from the sequence with nextval: from where it stands,
-- whatever its state (pg_sequence_last_value and pg_sequences.last_value
-- are NULL for a sequence not called since it was created or restarted, and
-- its start is not where a RESTART WITH put it), and reserved. A table that
-- gets no row leaves that one id unused.
SELECT t.name::text AS name,
       (c.relkind = 'r')::boolean AS plain,
       coalesce(s.seq, '')::text AS sequence,
       coalesce(pg_catalog.nextval(s.seq::regclass), 0)::bigint AS next_id,
       -- Its increment: the load's ids go its way, by its step (a
       -- descending sequence's down), as nextval's would.
       coalesce((SELECT q.seqincrement FROM pg_catalog.pg_sequence q WHERE q.seqrelid = s.seq::regclass), 1)::bigint AS increment,
       -- The other loaded tables its foreign keys refer to (their positions
       -- in @tables, from 1): the load sends their rows first.
       ARRAY(SELECT p.n::int FROM unnest(@tables::text[]) WITH ORDINALITY AS p(name, n)
             WHERE p.name::regclass <> c.oid
               AND EXISTS (SELECT FROM pg_catalog.pg_constraint f
                           WHERE f.contype = 'f' AND f.conrelid = c.oid AND f.confrelid = p.name::regclass)
             ORDER BY p.n)::int[] AS parents
FROM unnest(@tables::text[]) WITH ORDINALITY AS t(name, n)
JOIN pg_catalog.pg_class c ON c.oid = t.name::regclass
-- Only the first @own tables (the repository's) hand out ids: a table a
-- user declared (ExtraTable) takes its ids from its own defaults as it is
-- copied, and no id of its sequence is taken here.
LEFT JOIN LATERAL (SELECT pg_catalog.pg_get_serial_sequence(t.name, a.attname) AS seq
                   FROM pg_catalog.pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attname = 'id' AND NOT a.attisdropped) s ON t.n <= @own::int
ORDER BY t.n;

-- name: InitialLoadAdvanceSequence :exec
-- Moves a sequence forward to last, never back (setval is not undone by a
-- rollback, so a sequence that only moves forward never hands an id out
-- twice). Where it stands: its last value once called; when not called (a
-- setval(..., false) since the load took its first id), the value its next
-- nextval gives, taken here (COALESCE evaluates nextval only then), less its
-- step. Forward is down for a descending sequence.
SELECT pg_catalog.setval(q.seqrelid, CASE WHEN q.seqincrement > 0
    THEN greatest(@last::bigint, coalesce(pg_catalog.pg_sequence_last_value(q.seqrelid), pg_catalog.nextval(q.seqrelid) - q.seqincrement))
    ELSE least(@last::bigint, coalesce(pg_catalog.pg_sequence_last_value(q.seqrelid), pg_catalog.nextval(q.seqrelid) - q.seqincrement)) END)
FROM pg_catalog.pg_sequence q
WHERE q.seqrelid = (@sequence::text)::regclass;

-- name: InitialLoadMaintenance :exec
-- Settings of the key and index builds, for the transaction only.
SELECT pg_catalog.set_config('maintenance_work_mem', @work_mem::text, true),
       pg_catalog.set_config('max_parallel_maintenance_workers', @workers::text, true);

-- name: InitialLoadNonEmpty :one
-- The first loaded table that has a row, or '' when all are empty.
-- SELECT 1, not SELECT: Citus plans EXISTS (SELECT FROM t) of a distributed
-- table into a call without a column list ("a column definition list is
-- required for functions returning "record"").
SELECT (CASE
    WHEN EXISTS (SELECT 1 FROM users) THEN 'users'
    WHEN EXISTS (SELECT 1 FROM addresses) THEN 'addresses'
    WHEN EXISTS (SELECT 1 FROM profiles) THEN 'profiles'
    WHEN EXISTS (SELECT 1 FROM posts) THEN 'posts'
    WHEN EXISTS (SELECT 1 FROM tags) THEN 'tags'
    WHEN EXISTS (SELECT 1 FROM post_tags) THEN 'post_tags'
    WHEN EXISTS (SELECT 1 FROM email_owners) THEN 'email_owners'
    ELSE ''
END)::text AS table_name;

-- name: InitialLoadPartitionKeys :many
-- The partitions' copies of the foreign keys InitialLoadConstraints reads (a
-- partitioned table's, from or to a loaded table), parents before children:
-- DROP of the partitioned table's key takes them, and ADD makes new ones
-- named after it, without comments. Each is named back and its comment put
-- back (an attached partition keeps the name its own key had).
WITH RECURSIVE k AS (
    SELECT c.oid, c.conrelid, c.conname, c.conparentid, 1 AS depth
    FROM pg_catalog.pg_constraint c
    JOIN pg_catalog.pg_constraint p ON p.oid = c.conparentid AND p.conparentid = 0
    WHERE c.contype = 'f'
      AND (p.conrelid = ANY((@tables::text[])::regclass[]) OR p.confrelid = ANY((@tables::text[])::regclass[]))
    UNION ALL
    SELECT c.oid, c.conrelid, c.conname, c.conparentid, k.depth + 1
    FROM pg_catalog.pg_constraint c JOIN k ON c.conparentid = k.oid
)
SELECT k.conrelid::regclass::text AS table_name,
       pg_catalog.quote_ident(k.conname)::text AS name,
       p.conrelid::regclass::text AS parent_table,
       p.conname::text AS parent_name,
       coalesce(pg_catalog.obj_description(k.oid, 'pg_constraint'), '')::text AS comment
FROM k JOIN pg_catalog.pg_constraint p ON p.oid = k.conparentid
ORDER BY k.depth, 1, 2;

-- name: InitialLoadPartitionKeyName :one
-- The name of the copy, on @table_name, of @parent_table's key @parent_name.
SELECT pg_catalog.quote_ident(c.conname)::text AS name
FROM pg_catalog.pg_constraint c
JOIN pg_catalog.pg_constraint p ON p.oid = c.conparentid
WHERE c.conrelid = (@table_name::text)::regclass
  AND p.conrelid = (@parent_table::text)::regclass AND p.conname = @parent_name::text;

-- name: LoadTableColumns :many
-- The columns @columns of @table_name, a table a user declared for a load
-- (ExtraTable), in their order: each one's type, a domain's base type (what
-- its values are encoded as), 0 when the table has no such column; whether it
-- is generated (COPY cannot write it). table_name is the table as regclass
-- prints it, own whether it is one of @own (the repository's tables). No row
-- when there is no such table (or it is not a plain or partitioned table).
SELECT c.oid::regclass::text AS table_name,
       (c.oid = ANY((@own::text[])::regclass[]))::boolean AS own,
       d.name::text AS column_name,
       coalesce(CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE a.atttypid END, 0)::bigint AS type_oid,
       coalesce(a.attgenerated <> '', false)::boolean AS generated
FROM pg_catalog.pg_class c
CROSS JOIN unnest(@columns::text[]) WITH ORDINALITY AS d(name, n)
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = d.name AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
WHERE c.oid = pg_catalog.to_regclass(@table_name::text) AND c.relkind IN ('r', 'p')
ORDER BY d.n;


-- name: LoadTableParents :many
-- For each of @tables (the tables a user declared for a batched load, as
-- regclass prints them, in their order), the others of @tables its foreign
-- keys refer to (their positions, from 1): the load copies those first.
SELECT ARRAY(SELECT p.n::int FROM unnest(@tables::text[]) WITH ORDINALITY AS p(name, n)
             WHERE p.name::regclass <> t.name::regclass
               AND EXISTS (SELECT FROM pg_catalog.pg_constraint f
                           WHERE f.contype = 'f' AND f.conrelid = t.name::regclass AND f.confrelid = p.name::regclass)
             ORDER BY p.n)::int[] AS parents
FROM unnest(@tables::text[]) WITH ORDINALITY AS t(name, n)
ORDER BY t.n;
