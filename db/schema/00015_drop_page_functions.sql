-- +goose Up
-- user_page and post_page (00005, 00006, 00010) served the lists until
-- internal/keyset took them over (00012): nothing calls them any more, and a
-- function nobody calls is one more thing to keep in step with the tables.
-- Down puts back what 00010 left.
DROP FUNCTION user_page(text, boolean, integer, integer, bigint, integer, text, integer);
DROP FUNCTION post_page(boolean, bigint, boolean, bigint, integer);

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION user_page(order_by text, descending boolean, min_age integer, max_age integer,
                          after_id bigint, after_age integer, after_name text, max_rows integer)
    RETURNS TABLE (id bigint, pos bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    (SELECT s.id, row_number() OVER (ORDER BY s.id) AS pos
     FROM (SELECT p.id
           FROM users p
           WHERE order_by = 'id' AND NOT descending
             AND (min_age IS NULL OR p.age >= min_age)
             AND (max_age IS NULL OR p.age <= max_age)
             AND (after_id IS NULL OR p.id > after_id)
           ORDER BY p.id
           LIMIT max_rows) s)
    UNION ALL
    (SELECT s.id, row_number() OVER (ORDER BY s.id DESC) AS pos
     FROM (SELECT p.id
           FROM users p
           WHERE order_by = 'id' AND descending
             AND (min_age IS NULL OR p.age >= min_age)
             AND (max_age IS NULL OR p.age <= max_age)
             AND (after_id IS NULL OR p.id < after_id)
           ORDER BY p.id DESC
           LIMIT max_rows) s)
    UNION ALL
    (SELECT s.id, row_number() OVER (ORDER BY s.age, s.id) AS pos
     FROM (SELECT p.id, p.age
           FROM users p
           WHERE order_by = 'age' AND NOT descending
             AND (min_age IS NULL OR p.age >= min_age)
             AND (max_age IS NULL OR p.age <= max_age)
             AND (after_id IS NULL OR (p.age, p.id) > (after_age, after_id))
           ORDER BY p.age, p.id
           LIMIT max_rows) s)
    UNION ALL
    (SELECT s.id, row_number() OVER (ORDER BY s.age DESC, s.id DESC) AS pos
     FROM (SELECT p.id, p.age
           FROM users p
           WHERE order_by = 'age' AND descending
             AND (min_age IS NULL OR p.age >= min_age)
             AND (max_age IS NULL OR p.age <= max_age)
             AND (after_id IS NULL OR (p.age, p.id) < (after_age, after_id))
           ORDER BY p.age DESC, p.id DESC
           LIMIT max_rows) s)
    UNION ALL
    (SELECT s.id, row_number() OVER (ORDER BY s.name, s.id) AS pos
     FROM (SELECT p.id, p.name
           FROM users p
           WHERE order_by = 'name' AND NOT descending
             AND (min_age IS NULL OR p.age >= min_age)
             AND (max_age IS NULL OR p.age <= max_age)
             AND (after_id IS NULL OR (p.name, p.id) > (after_name, after_id))
           ORDER BY p.name, p.id
           LIMIT max_rows) s)
    UNION ALL
    (SELECT s.id, row_number() OVER (ORDER BY s.name DESC, s.id DESC) AS pos
     FROM (SELECT p.id, p.name
           FROM users p
           WHERE order_by = 'name' AND descending
             AND (min_age IS NULL OR p.age >= min_age)
             AND (max_age IS NULL OR p.age <= max_age)
             AND (after_id IS NULL OR (p.name, p.id) < (after_name, after_id))
           ORDER BY p.name DESC, p.id DESC
           LIMIT max_rows) s)
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION post_page(descending boolean, author_id bigint, is_published boolean,
                          after_id bigint, max_rows integer)
    RETURNS TABLE (id bigint, pos bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    (SELECT s.id, row_number() OVER (ORDER BY s.id) AS pos
     FROM (SELECT pg.id
           FROM posts pg
           WHERE NOT descending
             AND (author_id IS NULL OR pg.user_id = author_id)
             AND (is_published IS NULL OR pg.published = is_published)
             AND (after_id IS NULL OR pg.id > after_id)
           ORDER BY pg.id
           LIMIT max_rows) s)
    UNION ALL
    (SELECT s.id, row_number() OVER (ORDER BY s.id DESC) AS pos
     FROM (SELECT pg.id
           FROM posts pg
           WHERE descending
             AND (author_id IS NULL OR pg.user_id = author_id)
             AND (is_published IS NULL OR pg.published = is_published)
             AND (after_id IS NULL OR pg.id < after_id)
           ORDER BY pg.id DESC
           LIMIT max_rows) s)
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    f record;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    -- As 00008 did: PL/pgSQL on Citus, which refuses parameterized SQL
    -- functions over distributed tables.
    FOR f IN SELECT format('public.%I(%s)', p.proname, pg_get_function_arguments(p.oid)) AS name,
                    pg_get_function_result(p.oid) AS result, p.prosrc AS body
             FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace AND p.proname IN ('user_page', 'post_page')
               AND p.prolang = (SELECT oid FROM pg_catalog.pg_language WHERE lanname = 'sql') LOOP
        EXECUTE format('CREATE OR REPLACE FUNCTION %s RETURNS %s LANGUAGE plpgsql STABLE PARALLEL SAFE AS %L',
                       f.name, f.result, E'#variable_conflict use_column\nBEGIN\nRETURN QUERY ' || f.body || E';\nEND');
    END LOOP;
END
$$;
-- +goose StatementEnd
