-- name: CreatePost :one
INSERT INTO posts (user_id, title, content, published, rating)
VALUES (@user_id, @title, @content, @published, @rating)
RETURNING *;

-- name: GetPostWithAuthor :one
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p
JOIN users u ON u.id = p.user_id
WHERE p.id = @id;

-- name: GetPostWithAuthorAndTags :many
-- Joined load: one row per tag (or one row with NULL tag columns).
SELECT sqlc.embed(p), sqlc.embed(u), t.id AS tag_id, t.name AS tag_name
FROM posts p
JOIN users u ON u.id = p.user_id
LEFT JOIN post_tags pt ON pt.user_id = p.user_id AND pt.post_id = p.id
LEFT JOIN tags t ON t.id = pt.tag_id
WHERE p.id = @id
ORDER BY t.name COLLATE "C";

-- name: UpdatePost :one
-- Partial update: a NULL argument keeps the column as it is.
UPDATE posts
SET title     = coalesce(sqlc.narg(title), title),
    content   = coalesce(sqlc.narg(content), content),
    published = coalesce(sqlc.narg(published), published),
    rating    = coalesce(sqlc.narg(rating), rating)
WHERE id = @id
RETURNING *;

-- name: DeletePost :execrows
DELETE FROM posts
WHERE id = @id;

-- name: ListPostsByUserIDs :many
-- Select-in load: the posts of many users in one round trip.
SELECT * FROM posts
WHERE user_id = ANY(@user_ids::bigint[])
ORDER BY user_id, id;
