-- +goose Up
-- user_page chooses one keyset page of users: its ids, with pos numbering them
-- in the page's order. It is the one definition of a page; ListUsers and every
-- list with a relation (ListUsersWithAddresses, ...) select FROM it and join
-- what they load, so a new relation's list is a few lines of SQL.
--
-- Ordered by order_by ('id', 'age' or 'name') then id, ascending or
-- descending, filtered by age. Each order and direction is a UNION ALL branch
-- of its own, so that the (key, id) index serves it (scanned backwards when
-- descending) and LIMIT stops the scan. A NULL after_id asks for the first
-- page; otherwise the page starts after the row (after_age or after_name,
-- after_id).
--
-- A plain SQL function, STABLE, one SELECT: PostgreSQL inlines it into the
-- calling query, where the arguments are the statement's parameters, so the
-- branches not asked for are pruned when the statement is planned (or skipped
-- by their one-time filter in a generic plan), exactly as if the query had
-- been written out (EXPLAIN shows the index scan of the one branch left).
-- +goose StatementBegin
CREATE FUNCTION user_page(order_by text, descending boolean, min_age integer, max_age integer,
                          after_id bigint, after_age integer, after_name text, max_rows integer)
    RETURNS TABLE (id bigint, pos bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    (SELECT p.id, row_number() OVER (ORDER BY p.id) AS pos
     FROM users p
     WHERE order_by = 'id' AND NOT descending
       AND (min_age IS NULL OR p.age >= min_age)
       AND (max_age IS NULL OR p.age <= max_age)
       AND (after_id IS NULL OR p.id > after_id)
     ORDER BY p.id
     LIMIT max_rows)
    UNION ALL
    (SELECT p.id, row_number() OVER (ORDER BY p.id DESC) AS pos
     FROM users p
     WHERE order_by = 'id' AND descending
       AND (min_age IS NULL OR p.age >= min_age)
       AND (max_age IS NULL OR p.age <= max_age)
       AND (after_id IS NULL OR p.id < after_id)
     ORDER BY p.id DESC
     LIMIT max_rows)
    UNION ALL
    (SELECT p.id, row_number() OVER (ORDER BY p.age, p.id) AS pos
     FROM users p
     WHERE order_by = 'age' AND NOT descending
       AND (min_age IS NULL OR p.age >= min_age)
       AND (max_age IS NULL OR p.age <= max_age)
       AND (after_id IS NULL OR (p.age, p.id) > (after_age, after_id))
     ORDER BY p.age, p.id
     LIMIT max_rows)
    UNION ALL
    (SELECT p.id, row_number() OVER (ORDER BY p.age DESC, p.id DESC) AS pos
     FROM users p
     WHERE order_by = 'age' AND descending
       AND (min_age IS NULL OR p.age >= min_age)
       AND (max_age IS NULL OR p.age <= max_age)
       AND (after_id IS NULL OR (p.age, p.id) < (after_age, after_id))
     ORDER BY p.age DESC, p.id DESC
     LIMIT max_rows)
    UNION ALL
    (SELECT p.id, row_number() OVER (ORDER BY p.name, p.id) AS pos
     FROM users p
     WHERE order_by = 'name' AND NOT descending
       AND (min_age IS NULL OR p.age >= min_age)
       AND (max_age IS NULL OR p.age <= max_age)
       AND (after_id IS NULL OR (p.name, p.id) > (after_name, after_id))
     ORDER BY p.name, p.id
     LIMIT max_rows)
    UNION ALL
    (SELECT p.id, row_number() OVER (ORDER BY p.name DESC, p.id DESC) AS pos
     FROM users p
     WHERE order_by = 'name' AND descending
       AND (min_age IS NULL OR p.age >= min_age)
       AND (max_age IS NULL OR p.age <= max_age)
       AND (after_id IS NULL OR (p.name, p.id) < (after_name, after_id))
     ORDER BY p.name DESC, p.id DESC
     LIMIT max_rows)$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION user_page(text, boolean, integer, integer, bigint, integer, text, integer);
