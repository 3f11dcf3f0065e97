-- +goose Up
-- Indexes of the keyset lists declared in Go (internal/repo/lists.go), which
-- replace user_page for the users' lists (the function stays, unused):
-- users by created_at (ByCreatedAt, newest first with Desc), and the name
-- prefix filter, a byte-wise range (collation "C", whatever the column's),
-- which this index seeks. On Citus, CREATE INDEX reaches every shard.
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
CREATE INDEX users_name_c_id_idx ON users (name COLLATE "C", id);

-- +goose Down
DROP INDEX users_name_c_id_idx;
DROP INDEX users_created_at_id_idx;
