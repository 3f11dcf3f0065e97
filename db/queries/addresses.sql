-- name: CreateAddresses :many
-- All of a user's new addresses in one statement, returned in the order given.
INSERT INTO addresses (user_id, email)
SELECT @user_id, e.email
FROM unnest(@emails::text[]) WITH ORDINALITY AS e (email, position)
ORDER BY e.position
RETURNING *;

-- name: ListAddressesByUserIDs :many
-- Select-in load: the addresses of many users in one round trip.
SELECT * FROM addresses
WHERE user_id = ANY(@user_ids::bigint[])
ORDER BY user_id, id;

-- name: DeleteAddress :execrows
DELETE FROM addresses
WHERE id = @id;
