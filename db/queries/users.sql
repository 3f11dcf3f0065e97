-- name: CreateUser :one
INSERT INTO users (name, age)
VALUES (@name, @age)
RETURNING *;

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

-- name: ListUsersByID :many
-- Keyset pages come from one query per sort key, so that the (key, id) index
-- serves each. The first page passes after_id 0 (and after_age -1, or an empty
-- after_name).
SELECT * FROM users
WHERE (sqlc.narg(min_age)::integer IS NULL OR age >= sqlc.narg(min_age))
  AND (sqlc.narg(max_age)::integer IS NULL OR age <= sqlc.narg(max_age))
  AND id > @after_id
ORDER BY id
LIMIT @max_rows;

-- name: ListUsersByAge :many
SELECT * FROM users
WHERE (sqlc.narg(min_age)::integer IS NULL OR age >= sqlc.narg(min_age))
  AND (sqlc.narg(max_age)::integer IS NULL OR age <= sqlc.narg(max_age))
  AND (age, id) > (@after_age::integer, @after_id::bigint)
ORDER BY age, id
LIMIT @max_rows;

-- name: ListUsersByName :many
SELECT * FROM users
WHERE (sqlc.narg(min_age)::integer IS NULL OR age >= sqlc.narg(min_age))
  AND (sqlc.narg(max_age)::integer IS NULL OR age <= sqlc.narg(max_age))
  AND (name, id) > (@after_name::text, @after_id::bigint)
ORDER BY name, id
LIMIT @max_rows;

-- name: ListUsersWithAddressesByID :many
-- Joined load of a page of users with their addresses: the subquery chooses
-- the page exactly as ListUsersByID does, the join adds a row per address.
SELECT sqlc.embed(u), a.id AS address_id, a.email AS address_email
FROM users u
LEFT JOIN addresses a ON a.user_id = u.id
WHERE u.id IN (
    SELECT p.id FROM users p
    WHERE (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
      AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
      AND p.id > @after_id
    ORDER BY p.id
    LIMIT @max_rows)
ORDER BY u.id, a.id;

-- name: ListUsersWithAddressesByAge :many
SELECT sqlc.embed(u), a.id AS address_id, a.email AS address_email
FROM users u
LEFT JOIN addresses a ON a.user_id = u.id
WHERE u.id IN (
    SELECT p.id FROM users p
    WHERE (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
      AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
      AND (p.age, p.id) > (@after_age::integer, @after_id::bigint)
    ORDER BY p.age, p.id
    LIMIT @max_rows)
ORDER BY u.age, u.id, a.id;

-- name: ListUsersWithAddressesByName :many
SELECT sqlc.embed(u), a.id AS address_id, a.email AS address_email
FROM users u
LEFT JOIN addresses a ON a.user_id = u.id
WHERE u.id IN (
    SELECT p.id FROM users p
    WHERE (sqlc.narg(min_age)::integer IS NULL OR p.age >= sqlc.narg(min_age))
      AND (sqlc.narg(max_age)::integer IS NULL OR p.age <= sqlc.narg(max_age))
      AND (p.name, p.id) > (@after_name::text, @after_id::bigint)
    ORDER BY p.name, p.id
    LIMIT @max_rows)
ORDER BY u.name, u.id, a.id;

-- name: ListUsersWithPostsByID :many
-- Joined load of a page of users with their posts, one row per post.
SELECT sqlc.embed(u), p.id AS post_id, p.title AS post_title, p.content AS post_content,
       p.published AS post_published, p.rating AS post_rating, p.created_at AS post_created_at
FROM users u
LEFT JOIN posts p ON p.user_id = u.id
WHERE u.id IN (
    SELECT pg.id FROM users pg
    WHERE (sqlc.narg(min_age)::integer IS NULL OR pg.age >= sqlc.narg(min_age))
      AND (sqlc.narg(max_age)::integer IS NULL OR pg.age <= sqlc.narg(max_age))
      AND pg.id > @after_id
    ORDER BY pg.id
    LIMIT @max_rows)
ORDER BY u.id, p.id;

-- name: ListUsersWithPostsByAge :many
SELECT sqlc.embed(u), p.id AS post_id, p.title AS post_title, p.content AS post_content,
       p.published AS post_published, p.rating AS post_rating, p.created_at AS post_created_at
FROM users u
LEFT JOIN posts p ON p.user_id = u.id
WHERE u.id IN (
    SELECT pg.id FROM users pg
    WHERE (sqlc.narg(min_age)::integer IS NULL OR pg.age >= sqlc.narg(min_age))
      AND (sqlc.narg(max_age)::integer IS NULL OR pg.age <= sqlc.narg(max_age))
      AND (pg.age, pg.id) > (@after_age::integer, @after_id::bigint)
    ORDER BY pg.age, pg.id
    LIMIT @max_rows)
ORDER BY u.age, u.id, p.id;

-- name: ListUsersWithPostsByName :many
SELECT sqlc.embed(u), p.id AS post_id, p.title AS post_title, p.content AS post_content,
       p.published AS post_published, p.rating AS post_rating, p.created_at AS post_created_at
FROM users u
LEFT JOIN posts p ON p.user_id = u.id
WHERE u.id IN (
    SELECT pg.id FROM users pg
    WHERE (sqlc.narg(min_age)::integer IS NULL OR pg.age >= sqlc.narg(min_age))
      AND (sqlc.narg(max_age)::integer IS NULL OR pg.age <= sqlc.narg(max_age))
      AND (pg.name, pg.id) > (@after_name::text, @after_id::bigint)
    ORDER BY pg.name, pg.id
    LIMIT @max_rows)
ORDER BY u.name, u.id, p.id;

-- name: CopyUsers :copyfrom
INSERT INTO users (name, age)
VALUES (@name, @age);
