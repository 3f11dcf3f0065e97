-- +goose NO TRANSACTION
-- +goose Up
-- The feed (ListFeed, 00013): a followee's published posts, newest first, one
-- index probe per followee. posts is a live table: built CONCURRENTLY, so
-- writes go on during the build (hence no transaction). A build that fails
-- leaves an INVALID index, which `migrate status` reports; IF NOT EXISTS then
-- keeps a re-run from failing on the name, so drop the INVALID one first.
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_published_user_id_created_at_idx
    ON posts (user_id, created_at, id) WHERE published;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS posts_published_user_id_created_at_idx;
