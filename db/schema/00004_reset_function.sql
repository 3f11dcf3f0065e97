-- +goose Up
-- reset_tables empties every table of the public schema but goose's own and restarts
-- their identity columns at 1, in one TRUNCATE ... RESTART IDENTITY. Repo.Reset
-- calls it.
--
-- Why a function: TRUNCATE is transactional, and so is its RESTART IDENTITY,
-- so a reset whose transaction rolls back leaves every row and every sequence
-- as they were (setval, which the app role could call itself, is not
-- transactional: a rolled-back reset left the sequences behind the ids). But
-- RESTART IDENTITY needs to own the sequences, which the app role does not:
-- the function runs as its owner, the schema owner (SECURITY DEFINER).
-- Being that powerful, it takes no argument, pins its search_path to
-- pg_catalog and pg_temp (nothing a caller creates can stand in for what it
-- calls), names every object fully, and only the roles granted EXECUTE may
-- call it (migrate.SetupRoles grants it to the app role).
--
-- The tables come from the catalog, so a table a later migration adds is
-- emptied too (keep another tool's tables, which a reset must not empty, in a
-- schema of their own), and one TRUNCATE of all of them passes every foreign key,
-- cascading or not. Tables of extensions (members of an extension, such as
-- PostGIS's spatial_ref_sys) and partitions (their parent is listed) are
-- left out.
-- +goose StatementBegin
CREATE FUNCTION reset_tables() RETURNS void
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tables text;
    denied text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', n.nspname, c.relname), ', ' ORDER BY c.relname)
    INTO tables
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public'
      AND c.relkind IN ('r', 'p')
      AND NOT c.relispartition
      AND c.relname <> 'goose_db_version'
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                        AND d.objid = c.oid AND d.deptype = 'e');
    -- It borrows the owner's right to restart sequences, never the right to
    -- empty a table: a table the caller may not truncate itself (an
    -- append-only audit log whose TRUNCATE was revoked) stops the reset.
    SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', n.nspname, c.relname), ', ' ORDER BY c.relname)
    INTO denied
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public'
      AND c.relkind IN ('r', 'p')
      AND NOT c.relispartition
      AND c.relname <> 'goose_db_version'
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                        AND d.objid = c.oid AND d.deptype = 'e')
      AND NOT pg_catalog.has_table_privilege(session_user, c.oid, 'TRUNCATE');
    IF denied IS NOT NULL THEN
        RAISE EXCEPTION 'reset needs TRUNCATE on every table, and % may not truncate %', session_user, denied
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Grant TRUNCATE on those tables, or keep tables that must survive a reset in another schema.';
    END IF;
    IF tables IS NOT NULL THEN
        EXECUTE 'TRUNCATE ' || tables || ' RESTART IDENTITY';
    END IF;
END
$$;
-- +goose StatementEnd
REVOKE EXECUTE ON FUNCTION reset_tables() FROM PUBLIC;

-- +goose Down
DROP FUNCTION reset_tables();
