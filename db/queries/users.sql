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
-- unique violation, which undoes the whole statement. Each address gets its
-- email_owners row (db/schema/00007_keys_by_user.sql), which is what the
-- taken emails are read from. On plain PostgreSQL only: Citus plans a chain
-- of write CTEs step by step, sending each step's rows to every node (90 ms
-- where one node takes 0.5 ms); there RegisterUser pipelines TakenEmailKeys,
-- CreateUser, CreateAddress and CreateEmailOwner instead.
WITH given AS (
    SELECT e.email, e.position
    FROM unnest(@emails::text[]) WITH ORDINALITY AS e (email, position)
),
-- email_owners read by key: @email_keys are the emails' keys as the client
-- computed them (emailKey, which a test holds equal to email_key), so the
-- lookup is an index scan even in a generic plan (which guesses ten emails
-- and would rather hash the table).
taken AS (
    SELECT g.email, g.position
    FROM given g
    JOIN email_owners o ON o.email_key = email_key(g.email)
    WHERE o.email_key = ANY(@email_keys::text[])
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
),
new_owners AS (
    INSERT INTO email_owners (email_key, user_id, address_id)
    SELECT email_key(a.email), a.user_id, a.id
    FROM new_addresses a
)
SELECT (SELECT array_agg(t.email ORDER BY t.position) FROM taken t)::text[] AS taken_emails,
       u.id AS user_id, u.name AS user_name, u.age AS user_age, u.created_at AS user_created_at,
       a.id AS address_id, a.email AS address_email
FROM (SELECT) AS one_row
LEFT JOIN new_user u ON true
LEFT JOIN new_addresses a ON true
LEFT JOIN given g ON g.email = a.email
ORDER BY g.position;

-- name: TakenEmailKeys :many
-- Which of the emails' keys (emailKey, which a test holds equal to
-- email_key) are registered already: on Citus, the first statement of a
-- registration's pipeline, so that a conflict names every taken email. By
-- key, so that the lookup is an index scan even in a generic plan, and goes
-- only to the keys' shards.
SELECT email_key FROM email_owners
WHERE email_key = ANY(@email_keys::text[]);

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

-- name: LockUserForDelete :exec
-- Sent before DeleteUser, in its pipeline: from here no address can be
-- added to the user until the delete ends, and DeleteUser, a statement of
-- its own, takes its snapshot after every address added before. (In one
-- statement, an address committed while it waited for the user's row would
-- keep its email_owners row on Citus, where no foreign key removes it.)
SELECT FROM users
WHERE id = @id
FOR UPDATE;

-- name: DeleteUser :execrows
-- Deletes the user (their rows follow by cascade) and their email_owners
-- rows, which on Citus no foreign key reaches, in one statement.
WITH gone_owners AS (
    DELETE FROM email_owners
    WHERE user_id = @id
)
DELETE FROM users
WHERE id = @id;

-- name: CopyUsers :copyfrom
INSERT INTO users (name, age)
VALUES (@name, @age);
