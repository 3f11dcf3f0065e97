-- +goose Up
-- Distribution by user, on Citus only: on plain PostgreSQL (no citus
-- extension) this migration does nothing. The extension is a superuser's to
-- create, in every database on every node, before the migrations run (see
-- README, "Citus"); the schema owner distributes its own tables.
--
-- Every user's rows live on one shard: users by id; addresses, profiles,
-- posts and post_tags by user_id, co-located with users, so a user's rows
-- join and cascade on one node. email_owners by email_key, so that one shard
-- decides who owns an email. tags is small and read by every user's posts: a
-- reference table, copied to every node.
--
-- Citus cannot enforce what spans shards, so two rules move out of the
-- database here: the unique index on email_key(email) (not the distribution
-- column) and the foreign key email_owners -> addresses (not co-located). The
-- repository keeps both (it writes email_owners in the statement that writes
-- the address, and deletes it with the address); on plain PostgreSQL the
-- database keeps them for every client.

-- +goose StatementBegin
DO $$
DECLARE
    fk_drops text[];
    fk_adds text[];
    s text;
    f record;
    plpgsql_prefix constant text := E'#variable_conflict use_column\nBEGIN\nRETURN QUERY ';
    plpgsql_suffix constant text := E';\nEND';
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    -- One connection per worker for the whole transaction: a foreign key
    -- added to a table after a parallel (multi-connection) operation on it in
    -- the same transaction is refused ("cannot modify table ... because there
    -- was a parallel operation on a distributed table in the transaction").
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    DROP INDEX addresses_email_lower_key;
    ALTER TABLE email_owners DROP CONSTRAINT email_owners_address_fkey;
    -- Citus takes a table with foreign keys to a reference table, or from a
    -- table not yet distributed, into its metadata as a "Citus local table",
    -- which then cannot be distributed ("cannot complete operation on a table
    -- with identity column"): the foreign keys go first and come back, as
    -- they were, once every table is distributed.
    SELECT array_agg(format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname)),
           array_agg(format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid)))
    INTO fk_drops, fk_adds
    FROM pg_catalog.pg_constraint
    WHERE contype = 'f' AND connamespace = 'public'::regnamespace;
    FOREACH s IN ARRAY fk_drops LOOP
        EXECUTE s;
    END LOOP;
    PERFORM create_distributed_table('users', 'id');
    PERFORM create_distributed_table('addresses', 'user_id', colocate_with => 'users');
    PERFORM create_distributed_table('profiles', 'user_id', colocate_with => 'users');
    PERFORM create_distributed_table('posts', 'user_id', colocate_with => 'users');
    PERFORM create_distributed_table('post_tags', 'user_id', colocate_with => 'users');
    PERFORM create_distributed_table('email_owners', 'email_key');
    PERFORM create_reference_table('tags');
    FOREACH s IN ARRAY fk_adds LOOP
        EXECUTE s;
    END LOOP;
    -- A statement that writes tags (a reference table) and post_tags (whose
    -- foreign key points at it), as TagPost does, is refused in Citus's
    -- default parallel mode ("cannot modify table "tags" because there was a
    -- parallel operation on a distributed table in the transaction"; "When
    -- there is a foreign key to a reference table ..., Citus needs to perform
    -- all operations over a single connection per node"). Every session of
    -- this database writes over one connection per node; reads still fan out
    -- in parallel.
    EXECUTE format('ALTER DATABASE %I SET citus.multi_shard_modify_mode = sequential', current_database());
    -- The reference table has a copy on the coordinator, which Citus reads
    -- and writes in the session itself ("local execution"); a transaction
    -- that did so is then refused parallel commands (an initial load's
    -- ANALYZE: "cannot execute command because a local execution has
    -- accessed a placement in the transaction"). Off: the coordinator's copy
    -- is reached over a connection like the others.
    EXECUTE format('ALTER DATABASE %I SET citus.enable_local_execution = off', current_database());
    -- The page functions (user_page, post_page: set-returning SQL functions
    -- that PostgreSQL inlines) fail on Citus, called with a statement's
    -- parameters: "parameterized queries for SQL functions referencing
    -- distributed tables are not supported". The same SELECT in PL/pgSQL
    -- works: each becomes RETURN QUERY of its own text, same signature.
    FOR f IN SELECT format('public.%I(%s)', p.proname, pg_get_function_arguments(p.oid)) AS name, pg_get_function_result(p.oid) AS result, p.prosrc AS body
             FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace AND p.proretset
               AND p.prolang = (SELECT oid FROM pg_catalog.pg_language WHERE lanname = 'sql') LOOP
        EXECUTE format('CREATE OR REPLACE FUNCTION %s RETURNS %s LANGUAGE plpgsql STABLE PARALLEL SAFE AS %L',
                       f.name, f.result, plpgsql_prefix || f.body || plpgsql_suffix);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- undistribute_table refuses a table with an identity column ("cannot
-- complete operation on a table with identity column"), and Citus refuses
-- ALTER ... DROP IDENTITY on a distributed table: the identities are dropped
-- on the coordinator alone (DDL propagation off; undistributing drops the
-- shards anyway), the tables undistributed, and the identities added back,
-- each resuming after the last id its sequence gave.
-- +goose StatementBegin
DO $$
DECLARE
    tabs text[];
    names text[];
    lasts bigint[];
    f record;
    plpgsql_prefix constant text := E'#variable_conflict use_column\nBEGIN\nRETURN QUERY ';
    plpgsql_suffix constant text := E';\nEND';
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    EXECUTE format('ALTER DATABASE %I RESET citus.multi_shard_modify_mode', current_database());
    EXECUTE format('ALTER DATABASE %I RESET citus.enable_local_execution', current_database());
    -- The page functions back to SQL (see Up).
    FOR f IN SELECT format('public.%I(%s)', p.proname, pg_get_function_arguments(p.oid)) AS name, pg_get_function_result(p.oid) AS result, p.prosrc AS body
             FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace AND p.proretset
               AND p.prolang = (SELECT oid FROM pg_catalog.pg_language WHERE lanname = 'plpgsql')
               AND starts_with(p.prosrc, plpgsql_prefix) LOOP
        EXECUTE format('CREATE OR REPLACE FUNCTION %s RETURNS %s LANGUAGE sql STABLE PARALLEL SAFE AS %L',
                       f.name, f.result,
                       substr(f.body, length(plpgsql_prefix) + 1, length(f.body) - length(plpgsql_prefix) - length(plpgsql_suffix)));
    END LOOP;
    SELECT array_agg(a.attrelid::regclass::text), array_agg(a.attname::text), array_agg(coalesce(s.last_value, 0))
    INTO tabs, names, lasts
    FROM pg_catalog.pg_attribute a
    JOIN pg_dist_partition d ON d.logicalrelid = a.attrelid
    LEFT JOIN pg_catalog.pg_sequences s
        ON format('%I.%I', s.schemaname, s.sequencename)::regclass
           = pg_get_serial_sequence(a.attrelid::regclass::text, a.attname)::regclass
    WHERE a.attidentity = 'd' AND NOT a.attisdropped;
    PERFORM set_config('citus.enable_ddl_propagation', 'off', true);
    FOR i IN 1 .. coalesce(array_length(tabs, 1), 0) LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP IDENTITY', tabs[i], names[i]);
    END LOOP;
    PERFORM set_config('citus.enable_ddl_propagation', 'on', true);
    PERFORM undistribute_table('email_owners');
    -- users and every table whose foreign keys reach it (tags too).
    PERFORM undistribute_table('users', cascade_via_foreign_keys => true);
    FOR i IN 1 .. coalesce(array_length(tabs, 1), 0) LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I ADD GENERATED BY DEFAULT AS IDENTITY (START WITH %s)',
                       tabs[i], names[i], lasts[i] + 1);
    END LOOP;
    CREATE UNIQUE INDEX addresses_email_lower_key ON addresses (email_key(email));
    ALTER TABLE email_owners ADD CONSTRAINT email_owners_address_fkey FOREIGN KEY (user_id, address_id)
        REFERENCES addresses (user_id, id) ON DELETE CASCADE;
END
$$;
-- +goose StatementEnd
