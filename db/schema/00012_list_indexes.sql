-- +goose Up
-- The index of ByCreatedAt (users by created_at, then id; newest first with
-- Desc), a keyset order declared in Go (internal/repo/lists.go) with the
-- users' other lists, which no longer use user_page (the function stays,
-- unused). On Citus, CREATE INDEX reaches every shard.
CREATE INDEX users_created_at_id_idx ON users (created_at, id);

-- +goose Down
DROP INDEX users_created_at_id_idx;
