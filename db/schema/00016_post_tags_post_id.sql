-- +goose NO TRANSACTION
-- +goose Up
-- A page of posts finds its tags by the page's post ids (the select-in
-- statement of postsList and feedList): post_tags' key leads with user_id,
-- so without this index a generic plan seeks by the authors and filters by
-- post, reading every tag of a prolific author for each page. Built
-- CONCURRENTLY on a live table (see 00014).
CREATE INDEX CONCURRENTLY IF NOT EXISTS post_tags_post_id_idx ON post_tags (post_id);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS post_tags_post_id_idx;
