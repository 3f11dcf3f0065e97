-- name: UpsertTags :many
-- Get-or-create tags by name. DO UPDATE (not DO NOTHING) so that RETURNING
-- yields rows that already existed, even ones committed concurrently.
INSERT INTO tags (name)
SELECT unnest(@names::text[])
ON CONFLICT (name) DO UPDATE
SET name = EXCLUDED.name
RETURNING *;

-- name: TagPost :many
-- Get-or-create tags by name and put them on a post, in one statement: the
-- tags named come back (in no particular order), or no rows when there is
-- no such post, and then nothing is written. A post deleted after the
-- statement's snapshot fails the links' foreign key instead, which undoes
-- the whole statement.
WITH post AS (
    SELECT p.user_id, p.id FROM posts p WHERE p.id = @post_id
),
tag AS (
    INSERT INTO tags (name)
    SELECT n.name
    FROM unnest(@names::text[]) AS n (name)
    WHERE EXISTS (SELECT FROM post)
    ON CONFLICT (name) DO UPDATE
    SET name = EXCLUDED.name
    RETURNING *
),
linked AS (
    INSERT INTO post_tags (user_id, post_id, tag_id)
    SELECT post.user_id, post.id, tag.id
    FROM post
    CROSS JOIN tag
    ON CONFLICT DO NOTHING
)
SELECT tag.id, tag.name
FROM tag;

-- name: RemovePostTags :execrows
-- The links are found by the post's key, (user_id, post_id).
DELETE FROM post_tags pt
USING posts p
WHERE p.id = @post_id
  AND pt.user_id = p.user_id
  AND pt.post_id = p.id
  AND pt.tag_id IN (SELECT t.id FROM tags t WHERE t.name = ANY(@names::text[]));

-- name: ListTagsByPostIDs :many
-- Select-in load: the tags of many posts in one round trip. The links are
-- found by the posts' keys, (user_id, post_id).
SELECT pt.post_id, sqlc.embed(t)
FROM posts p
JOIN post_tags pt ON pt.user_id = p.user_id AND pt.post_id = p.id
JOIN tags t ON t.id = pt.tag_id
WHERE p.id = ANY(@post_ids::bigint[])
ORDER BY pt.post_id, t.name COLLATE "C";

-- name: LinkPostTags :many
-- TagPost on Citus: put existing tags on a post, writing post_tags only
-- (tags, a reference table, is only read). One row per tag found, or one row
-- with no tag when none is; no rows when there is no such post, and then
-- nothing is written.
WITH post AS (
    SELECT p.user_id, p.id FROM posts p WHERE p.id = @post_id
),
tag AS (
    SELECT t.id, t.name FROM tags t WHERE t.name = ANY(@names::text[])
),
linked AS (
    INSERT INTO post_tags (user_id, post_id, tag_id)
    SELECT post.user_id, post.id, tag.id
    FROM post
    CROSS JOIN tag
    ON CONFLICT DO NOTHING
)
SELECT tag.id AS tag_id, tag.name AS tag_name
FROM post
LEFT JOIN tag ON true;

-- name: CreateMissingTags :exec
-- Create the tags named that do not exist yet; existing ones are not
-- written (DO NOTHING).
INSERT INTO tags (name)
SELECT unnest(@names::text[])
ON CONFLICT (name) DO NOTHING;

-- name: GetTagsByName :many
SELECT * FROM tags WHERE name = ANY(@names::text[]);
