-- +goose Up
-- make lint (squawk): this migration ran when each database was created, on
-- tables the migrations before it had just made, still empty: no write waited
-- on its locks or scans. On a live table the same change takes the forms
-- CONTRIBUTING.md ("Migrations on a live database") shows.
-- squawk-ignore-file require-concurrent-index-creation, require-concurrent-index-deletion
-- The index of ByCreatedAt (users by created_at, then id; newest first with
-- Desc), a keyset order declared in Go (internal/repo/lists.go) with the
-- users' other lists, which no longer use user_page (the function stays,
-- unused). On Citus, CREATE INDEX reaches every shard.
CREATE INDEX users_created_at_id_idx ON users (created_at, id);

-- +goose Down
DROP INDEX users_created_at_id_idx;
