-- name: CopyUserImports :copyfrom
INSERT INTO user_imports (position, email, name, age)
VALUES (@position, @email, @name, @age);

-- name: DropUserImports :exec
DROP TABLE user_imports;

-- name: UpdateImportedUsers :one
-- Users whose email is registered already (its email_owners row says whose)
-- take the imported name and age;
-- rows that would not change are left alone (and not counted). A user that
-- two rows address (by two of their emails) is not updated: shared_first and
-- shared_second are the first two such rows (0 when there are none), and the
-- caller refuses the batch. A row whose user was neither updated nor found
-- unchanged was deleted or changed by a transaction that committed while
-- this one waited for it (or, on Citus, is still committing on its worker):
-- gone_position is the first such row (0 when none), and the caller refuses
-- the batch rather than count it unchanged.
-- user_imports is read once, in a CTE of its own: Citus joins a local table
-- with distributed ones only so.
WITH imports AS MATERIALIZED (
    SELECT * FROM user_imports
), matched AS (
    SELECT i.position, i.name, i.age, o.user_id,
           count(*) OVER (PARTITION BY o.user_id) AS rows_for_user
    FROM imports i
    JOIN email_owners o ON o.email_key = email_key(i.email)
), updated AS (
    UPDATE users u
    SET name = m.name,
        age  = m.age
    FROM matched m
    WHERE u.id = m.user_id
      AND m.rows_for_user = 1
      AND (u.name, u.age) IS DISTINCT FROM (m.name, m.age)
    RETURNING u.id
), unchanged AS (
    SELECT m.user_id
    FROM matched m
    JOIN users u ON u.id = m.user_id
    WHERE m.rows_for_user = 1
      AND (u.name, u.age) IS NOT DISTINCT FROM (m.name, m.age)
), gone AS (
    SELECT min(m.position) AS position
    FROM matched m
    WHERE m.rows_for_user = 1
      AND m.user_id NOT IN (SELECT id FROM updated)
      AND m.user_id NOT IN (SELECT user_id FROM unchanged)
), shared AS (
    SELECT min(position)::bigint AS first,
           (array_agg(position ORDER BY position))[2]::bigint AS second
    FROM matched
    WHERE rows_for_user > 1
    GROUP BY user_id
    ORDER BY 2
    LIMIT 1
)
SELECT (SELECT count(*) FROM updated)::bigint AS updated,
       coalesce((SELECT first FROM shared), 0)::bigint AS shared_first,
       coalesce((SELECT second FROM shared), 0)::bigint AS shared_second,
       coalesce((SELECT position FROM gone), 0)::bigint AS gone_position;

-- name: InsertImportedUsers :one
-- Imported emails registered to nobody become new users with that address
-- and its email_owners row. The CTE is materialised once, so each new row
-- takes one user id and one address id for all three inserts. An email that
-- a concurrent transaction registered after this statement's snapshot is
-- skipped (ON CONFLICT on email_owners' key), and so are its user and
-- address: taken_position is the first such row (0 when none), and the
-- caller refuses the batch.
-- user_imports is read in a CTE of its own, and the registered emails by an
-- uncorrelated subquery: the shapes Citus accepts.
WITH imports AS MATERIALIZED (
    SELECT * FROM user_imports
), fresh AS MATERIALIZED (
    SELECT nextval('users_id_seq'::regclass) AS id, nextval('addresses_id_seq'::regclass) AS address_id,
           i.position, i.email, i.name, i.age
    FROM imports i
    WHERE email_key(i.email) NOT IN (SELECT o.email_key
                                     FROM imports r
                                     JOIN email_owners o ON o.email_key = email_key(r.email))
), new_owners AS (
    -- First: on one server the foreign key to addresses is checked at the
    -- statement's end; on Citus there is none.
    INSERT INTO email_owners (email_key, user_id, address_id)
    SELECT email_key(f.email), f.id, f.address_id FROM fresh f
    ON CONFLICT (email_key) DO NOTHING
    RETURNING user_id
), new_users AS (
    -- Before addresses: Citus checks each CTE's foreign keys as it runs.
    INSERT INTO users (id, name, age)
    SELECT f.id, f.name, f.age
    FROM fresh f
    JOIN new_owners n ON n.user_id = f.id
    RETURNING id
), new_addresses AS (
    INSERT INTO addresses (id, user_id, email)
    SELECT f.address_id, f.id, f.email
    FROM fresh f
    JOIN new_owners n ON n.user_id = f.id
)
SELECT (SELECT count(*) FROM new_users)::bigint AS inserted,
       coalesce((SELECT min(f.position) FROM fresh f
                 WHERE NOT EXISTS (SELECT FROM new_owners n WHERE n.user_id = f.id)), 0)::bigint AS taken_position;
