-- name: CreateAddresses :many
-- All of a user's new addresses in one statement, with their email_owners
-- rows (db/schema/00007_keys_by_user.sql), returned in the order given. On
-- plain PostgreSQL; on Citus, CreateAddress and CreateEmailOwner (below).
WITH new_addresses AS (
    INSERT INTO addresses (user_id, email)
    SELECT @user_id, e.email
    FROM unnest(@emails::text[]) WITH ORDINALITY AS e (email, position)
    ORDER BY e.position
    RETURNING *
),
new_owners AS (
    INSERT INTO email_owners (email_key, user_id, address_id)
    SELECT email_key(a.email), a.user_id, a.id
    FROM new_addresses a
)
SELECT a.id, a.user_id, a.email
FROM new_addresses a
ORDER BY a.id;

-- name: CreateAddress :one
-- One address of a user, with CreateEmailOwner right after it in the same
-- transaction (one pipeline: one round trip for both). For Citus: one row per
-- statement, by its distribution key, so each is routed to one shard (a
-- write-CTE chain is planned step by step there, its intermediate results
-- sent to every node: 20 times slower).
INSERT INTO addresses (user_id, email)
VALUES (@user_id, @email)
RETURNING *;

-- name: CreateEmailOwner :exec
-- The email_owners row (db/schema/00007_keys_by_user.sql) of the address
-- this session created last (CreateAddress, right before it: the session's
-- own currval), whose user and email are given again.
INSERT INTO email_owners (email_key, user_id, address_id)
VALUES (email_key(@email), @user_id, currval(pg_get_serial_sequence('addresses', 'id')));

-- name: CreateAddressOfNewUser :one
-- CreateAddress for the user this session created last (CreateUser, earlier
-- in the same pipeline): the session's own currval, so a registration needs
-- no answer before its next statement. (One query of its own: Citus
-- evaluates every function of a statement before routing it, even in a
-- coalesce that would not need it.)
INSERT INTO addresses (user_id, email)
VALUES (currval(pg_get_serial_sequence('users', 'id')), @email)
RETURNING *;

-- name: CreateEmailOwnerOfNewUser :exec
-- CreateEmailOwner after CreateAddressOfNewUser.
INSERT INTO email_owners (email_key, user_id, address_id)
VALUES (email_key(@email), currval(pg_get_serial_sequence('users', 'id')),
        currval(pg_get_serial_sequence('addresses', 'id')));

-- name: ListAddressesOfUser :many
-- A user's addresses, oldest first (one shard on Citus). Not
-- ListAddressesByUserIDs with one id, which is slower per call
-- (BENCHMARKS.md, "One user's addresses").
SELECT * FROM addresses
WHERE user_id = @user_id
ORDER BY id;

-- name: ListAddressesByUserIDs :many
-- Select-in load: the addresses of many users in one round trip.
SELECT * FROM addresses
WHERE user_id = ANY(@user_ids::bigint[])
ORDER BY user_id, id;

-- name: DeleteAddress :one
-- Deletes an address and its email_owners row (which on Citus no foreign key
-- reaches), in one statement; returns how many addresses it deleted.
WITH gone AS (
    DELETE FROM addresses
    WHERE id = @id
    RETURNING user_id, id, email
),
gone_owner AS (
    DELETE FROM email_owners o
    WHERE (o.email_key, o.address_id) IN (SELECT email_key(g.email), g.id FROM gone g)
)
SELECT count(*) AS deleted
FROM gone;

-- name: ListAddressesOfUserByName :many
-- Select-in load of GetUserByName's user's addresses, found from the name
-- (one more probe of users_name_id_idx), so that it travels with
-- GetUserByName in one batch.
SELECT a.*
FROM addresses a
WHERE a.user_id = (SELECT u.id FROM users u WHERE u.name = @name ORDER BY u.id LIMIT 1)
ORDER BY a.id;
