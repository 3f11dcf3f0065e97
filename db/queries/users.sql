-- name: CreateUser :one
INSERT INTO users (name, age)
VALUES (@name, @age)
RETURNING *;

-- name: RegisterUser :many
-- A user with their addresses in one statement: all of it or nothing. When
-- an email is taken already, nothing is written and one row comes back with
-- the taken emails as given, in the order given (taken_emails), the user's
-- columns NULL. Otherwise one row per address, in the order given (or one
-- row with NULL address columns for no emails). RETURNING's order is not
-- the insert's: addresses are joined back to their position by email (the
-- emails given have distinct keys). A registration of one of the emails
-- committed after this statement's snapshot makes the INSERT fail with a
-- unique violation, which undoes the whole statement.
WITH given AS (
    SELECT e.email, e.position
    FROM unnest(@emails::text[]) WITH ORDINALITY AS e (email, position)
),
-- LATERAL with LIMIT: a lookup in the email_key index per email given, even
-- in a generic plan, which guesses ten emails and would rather hash the table.
taken AS (
    SELECT g.email, g.position
    FROM given g
    CROSS JOIN LATERAL (
        SELECT FROM addresses a WHERE email_key(a.email) = email_key(g.email) LIMIT 1
    ) AS registered
),
new_user AS (
    INSERT INTO users (name, age)
    SELECT @name::text, @age::integer
    WHERE NOT EXISTS (SELECT FROM taken)
    RETURNING *
),
new_addresses AS (
    INSERT INTO addresses (user_id, email)
    SELECT u.id, g.email
    FROM new_user u
    CROSS JOIN given g
    RETURNING *
)
SELECT (SELECT array_agg(t.email ORDER BY t.position) FROM taken t)::text[] AS taken_emails,
       u.id AS user_id, u.name AS user_name, u.age AS user_age, u.created_at AS user_created_at,
       a.id AS address_id, a.email AS address_email
FROM (SELECT) AS one_row
LEFT JOIN new_user u ON true
LEFT JOIN new_addresses a ON true
LEFT JOIN given g ON g.email = a.email
ORDER BY g.position;

-- name: GetUser :one
SELECT * FROM users
WHERE id = @id;

-- name: GetUserWithAddresses :many
-- Joined load: one row per address (or one row with NULL address columns).
SELECT sqlc.embed(u), a.id AS address_id, a.email AS address_email
FROM users u
LEFT JOIN addresses a ON a.user_id = u.id
WHERE u.id = @id
ORDER BY a.id;

-- name: GetUserByName :one
-- The tutorials' filter_by(name=...).first(): the oldest user of that name.
SELECT * FROM users
WHERE name = @name
ORDER BY id
LIMIT 1;

-- name: GetUserByNameWithAddresses :many
SELECT sqlc.embed(u), a.id AS address_id, a.email AS address_email
FROM users u
LEFT JOIN addresses a ON a.user_id = u.id
WHERE u.id = (SELECT first.id FROM users first WHERE first.name = @name ORDER BY first.id LIMIT 1)
ORDER BY a.id;

-- name: UpdateUser :one
-- Partial update: a NULL argument keeps the column as it is.
UPDATE users
SET name = coalesce(sqlc.narg(name), name),
    age  = coalesce(sqlc.narg(age), age)
WHERE id = @id
RETURNING *;

-- name: DeleteUser :execrows
DELETE FROM users
WHERE id = @id;

-- name: ListUsers :many
-- A keyset page of users, ordered by @order_by ('id', 'age' or 'name') then
-- id, ascending or @descending, filtered by age. Each order and direction is
-- a UNION ALL branch of its own, so that the (key, id) index serves it
-- (scanned backwards when descending) and LIMIT stops the scan; a branch
-- whose order and direction were not asked for is pruned when the statement
-- is planned (or skipped by its one-time filter in a generic plan). A NULL
-- after_id asks for the first page; otherwise the page starts after the row
-- (after_age or after_name, after_id). pos numbers the page's rows in order.
-- ListUsersWithAddresses and ListUsersWithPosts choose the same page (and
-- join users back, to embed the whole row; this one has the row's columns).
SELECT page.id, page.name, page.age, page.created_at
FROM (
    (SELECT p.id, p.name, p.age, p.created_at, row_number() OVER (ORDER BY p.id) AS pos
     FROM users p
     WHERE @order_by::text = 'id' AND NOT @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR p.id > sqlc.narg(after_id))
     ORDER BY p.id
     LIMIT @max_rows)
    UNION ALL
    (SELECT p.id, p.name, p.age, p.created_at, row_number() OVER (ORDER BY p.id DESC) AS pos
     FROM users p
     WHERE @order_by::text = 'id' AND @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR p.id < sqlc.narg(after_id))
     ORDER BY p.id DESC
     LIMIT @max_rows)
    UNION ALL
    (SELECT p.id, p.name, p.age, p.created_at, row_number() OVER (ORDER BY p.age, p.id) AS pos
     FROM users p
     WHERE @order_by::text = 'age' AND NOT @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR (p.age, p.id) > (sqlc.narg(after_age)::integer, sqlc.narg(after_id)::bigint))
     ORDER BY p.age, p.id
     LIMIT @max_rows)
    UNION ALL
    (SELECT p.id, p.name, p.age, p.created_at, row_number() OVER (ORDER BY p.age DESC, p.id DESC) AS pos
     FROM users p
     WHERE @order_by::text = 'age' AND @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR (p.age, p.id) < (sqlc.narg(after_age)::integer, sqlc.narg(after_id)::bigint))
     ORDER BY p.age DESC, p.id DESC
     LIMIT @max_rows)
    UNION ALL
    (SELECT p.id, p.name, p.age, p.created_at, row_number() OVER (ORDER BY p.name, p.id) AS pos
     FROM users p
     WHERE @order_by::text = 'name' AND NOT @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR (p.name, p.id) > (sqlc.narg(after_name)::text, sqlc.narg(after_id)::bigint))
     ORDER BY p.name, p.id
     LIMIT @max_rows)
    UNION ALL
    (SELECT p.id, p.name, p.age, p.created_at, row_number() OVER (ORDER BY p.name DESC, p.id DESC) AS pos
     FROM users p
     WHERE @order_by::text = 'name' AND @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR (p.name, p.id) < (sqlc.narg(after_name)::text, sqlc.narg(after_id)::bigint))
     ORDER BY p.name DESC, p.id DESC
     LIMIT @max_rows)
) page
ORDER BY page.pos;

-- name: ListUsersWithAddresses :many
-- Joined load of a ListUsers page with the users' addresses: one row per
-- address, or one row with NULL address columns.
SELECT sqlc.embed(u), a.id AS address_id, a.email AS address_email
FROM (
    (SELECT p.id, row_number() OVER (ORDER BY p.id) AS pos
     FROM users p
     WHERE @order_by::text = 'id' AND NOT @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR p.id > sqlc.narg(after_id))
     ORDER BY p.id
     LIMIT @max_rows)
    UNION ALL
    (SELECT p.id, row_number() OVER (ORDER BY p.id DESC) AS pos
     FROM users p
     WHERE @order_by::text = 'id' AND @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR p.id < sqlc.narg(after_id))
     ORDER BY p.id DESC
     LIMIT @max_rows)
    UNION ALL
    (SELECT p.id, row_number() OVER (ORDER BY p.age, p.id) AS pos
     FROM users p
     WHERE @order_by::text = 'age' AND NOT @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR (p.age, p.id) > (sqlc.narg(after_age)::integer, sqlc.narg(after_id)::bigint))
     ORDER BY p.age, p.id
     LIMIT @max_rows)
    UNION ALL
    (SELECT p.id, row_number() OVER (ORDER BY p.age DESC, p.id DESC) AS pos
     FROM users p
     WHERE @order_by::text = 'age' AND @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR (p.age, p.id) < (sqlc.narg(after_age)::integer, sqlc.narg(after_id)::bigint))
     ORDER BY p.age DESC, p.id DESC
     LIMIT @max_rows)
    UNION ALL
    (SELECT p.id, row_number() OVER (ORDER BY p.name, p.id) AS pos
     FROM users p
     WHERE @order_by::text = 'name' AND NOT @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR (p.name, p.id) > (sqlc.narg(after_name)::text, sqlc.narg(after_id)::bigint))
     ORDER BY p.name, p.id
     LIMIT @max_rows)
    UNION ALL
    (SELECT p.id, row_number() OVER (ORDER BY p.name DESC, p.id DESC) AS pos
     FROM users p
     WHERE @order_by::text = 'name' AND @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR (p.name, p.id) < (sqlc.narg(after_name)::text, sqlc.narg(after_id)::bigint))
     ORDER BY p.name DESC, p.id DESC
     LIMIT @max_rows)
) page
JOIN users u ON u.id = page.id
LEFT JOIN addresses a ON a.user_id = u.id
ORDER BY page.pos, a.id;

-- name: ListUsersWithPosts :many
-- Joined load of a ListUsers page with the users' posts, one row per post.
SELECT sqlc.embed(u), p.id AS post_id, p.title AS post_title, p.content AS post_content,
       p.published AS post_published, p.rating AS post_rating, p.created_at AS post_created_at
FROM (
    (SELECT pg.id, row_number() OVER (ORDER BY pg.id) AS pos
     FROM users pg
     WHERE @order_by::text = 'id' AND NOT @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR pg.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR pg.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR pg.id > sqlc.narg(after_id))
     ORDER BY pg.id
     LIMIT @max_rows)
    UNION ALL
    (SELECT pg.id, row_number() OVER (ORDER BY pg.id DESC) AS pos
     FROM users pg
     WHERE @order_by::text = 'id' AND @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR pg.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR pg.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR pg.id < sqlc.narg(after_id))
     ORDER BY pg.id DESC
     LIMIT @max_rows)
    UNION ALL
    (SELECT pg.id, row_number() OVER (ORDER BY pg.age, pg.id) AS pos
     FROM users pg
     WHERE @order_by::text = 'age' AND NOT @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR pg.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR pg.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR (pg.age, pg.id) > (sqlc.narg(after_age)::integer, sqlc.narg(after_id)::bigint))
     ORDER BY pg.age, pg.id
     LIMIT @max_rows)
    UNION ALL
    (SELECT pg.id, row_number() OVER (ORDER BY pg.age DESC, pg.id DESC) AS pos
     FROM users pg
     WHERE @order_by::text = 'age' AND @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR pg.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR pg.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR (pg.age, pg.id) < (sqlc.narg(after_age)::integer, sqlc.narg(after_id)::bigint))
     ORDER BY pg.age DESC, pg.id DESC
     LIMIT @max_rows)
    UNION ALL
    (SELECT pg.id, row_number() OVER (ORDER BY pg.name, pg.id) AS pos
     FROM users pg
     WHERE @order_by::text = 'name' AND NOT @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR pg.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR pg.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR (pg.name, pg.id) > (sqlc.narg(after_name)::text, sqlc.narg(after_id)::bigint))
     ORDER BY pg.name, pg.id
     LIMIT @max_rows)
    UNION ALL
    (SELECT pg.id, row_number() OVER (ORDER BY pg.name DESC, pg.id DESC) AS pos
     FROM users pg
     WHERE @order_by::text = 'name' AND @descending::boolean
       AND (sqlc.narg(min_age)::integer IS NULL OR pg.age >= sqlc.narg(min_age))
       AND (sqlc.narg(max_age)::integer IS NULL OR pg.age <= sqlc.narg(max_age))
       AND (sqlc.narg(after_id)::bigint IS NULL OR (pg.name, pg.id) < (sqlc.narg(after_name)::text, sqlc.narg(after_id)::bigint))
     ORDER BY pg.name DESC, pg.id DESC
     LIMIT @max_rows)
) page
JOIN users u ON u.id = page.id
LEFT JOIN posts p ON p.user_id = u.id
ORDER BY page.pos, p.id;

-- name: CopyUsers :copyfrom
INSERT INTO users (name, age)
VALUES (@name, @age);
