-- name: UpsertProfile :one
INSERT INTO profiles (user_id, bio, website)
VALUES (@user_id, @bio, sqlc.narg(website))
ON CONFLICT (user_id) DO UPDATE
SET bio = EXCLUDED.bio,
    website = EXCLUDED.website
RETURNING *;

-- name: GetProfile :one
SELECT * FROM profiles
WHERE user_id = @user_id;
