-- name: CreateAddresses :many
-- All of a user's new addresses in one statement, with their email_owners
-- rows (db/schema/00007_keys_by_user.sql), returned in the order given.
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
