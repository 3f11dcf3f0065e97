-- name: UpsertTags :many
-- Get-or-create tags by name. DO UPDATE (not DO NOTHING) so that RETURNING
-- yields rows that already existed, even ones committed concurrently.
INSERT INTO tags (name)
SELECT unnest(@names::text[])
ON CONFLICT (name) DO UPDATE
SET name = EXCLUDED.name
RETURNING *;

-- name: AddPostTags :exec
INSERT INTO post_tags (post_id, tag_id)
SELECT @post_id, unnest(@tag_ids::bigint[])
ON CONFLICT DO NOTHING;

-- name: RemovePostTags :execrows
DELETE FROM post_tags
WHERE post_id = @post_id
  AND tag_id IN (SELECT id FROM tags WHERE name = ANY(@names::text[]));

-- name: ListTagsByPostIDs :many
-- Select-in load: the tags of many posts in one round trip.
SELECT pt.post_id, sqlc.embed(t)
FROM post_tags pt
JOIN tags t ON t.id = pt.tag_id
WHERE pt.post_id = ANY(@post_ids::bigint[])
ORDER BY pt.post_id, t.name COLLATE "C";
