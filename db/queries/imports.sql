-- name: CopyUserImports :copyfrom
INSERT INTO user_imports (position, email, name, age)
VALUES (@position, @email, @name, @age);

-- name: DropUserImports :exec
DROP TABLE user_imports;

-- name: UpdateImportedUsers :one
-- Users whose email is registered already take the imported name and age;
-- rows that would not change are left alone (and not counted). A user that
-- two rows address (by two of their emails) is not updated: shared_first and
-- shared_second are the first two such rows (0 when there are none), and the
-- caller refuses the batch.
WITH matched AS (
    SELECT i.position, i.name, i.age, a.user_id,
           count(*) OVER (PARTITION BY a.user_id) AS rows_for_user
    FROM user_imports i
    JOIN addresses a ON email_key(a.email) = email_key(i.email)
), updated AS (
    UPDATE users u
    SET name = m.name,
        age  = m.age
    FROM matched m
    WHERE u.id = m.user_id
      AND m.rows_for_user = 1
      AND (u.name, u.age) IS DISTINCT FROM (m.name, m.age)
    RETURNING u.id
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
       coalesce((SELECT second FROM shared), 0)::bigint AS shared_second;

-- name: InsertImportedUsers :one
-- Imported emails registered to nobody become new users with that address.
-- The CTE is materialised once, so each new row takes one id for both inserts.
-- An email that a concurrent transaction registered after this statement's
-- snapshot is skipped (ON CONFLICT), and so is its user: taken_position is the
-- first such row (0 when none), and the caller refuses the batch.
WITH fresh AS MATERIALIZED (
    SELECT nextval('users_id_seq'::regclass) AS id, i.position, i.email, i.name, i.age
    FROM user_imports i
    WHERE NOT EXISTS (SELECT 1 FROM addresses a WHERE email_key(a.email) = email_key(i.email))
), new_addresses AS (
    -- Before the users they refer to: the foreign key is checked at the end
    -- of the statement, when both are in.
    INSERT INTO addresses (user_id, email)
    SELECT id, email FROM fresh
    ON CONFLICT (email_key(email)) DO NOTHING
    RETURNING user_id
), new_users AS (
    INSERT INTO users (id, name, age)
    SELECT f.id, f.name, f.age
    FROM fresh f
    JOIN new_addresses n ON n.user_id = f.id
    RETURNING id
)
SELECT (SELECT count(*) FROM new_users)::bigint AS inserted,
       coalesce((SELECT min(f.position) FROM fresh f
                 WHERE NOT EXISTS (SELECT 1 FROM new_addresses n WHERE n.user_id = f.id)), 0)::bigint AS taken_position;
