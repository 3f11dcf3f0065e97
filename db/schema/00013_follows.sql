-- +goose Up
-- Who follows whom: a relation between two users, the first a blog grows.
-- Each edge is stored twice, once with each user: follows on the
-- follower's rows (user_id follows followee_id: ListFollowing, the feed)
-- and its mirror followers on the followee's (user_id is followed by
-- follower_id: ListFollowers, and DeleteUser's finding of the incoming
-- edges). The repository writes and deletes both in one transaction (Follow,
-- Unfollow), with the same created_at. On Citus each table is distributed by
-- user_id, co-located with users, so that every read of either is routed to
-- one shard; the rows of one edge live on two.
CREATE TABLE follows (
    user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, followee_id),
    CONSTRAINT follows_followee_id_fkey FOREIGN KEY (followee_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT follows_not_self CHECK (user_id <> followee_id)
);
-- ListFollowing, newest first: one user's edges by (created_at, followee_id).
CREATE INDEX follows_user_id_created_at_idx ON follows (user_id, created_at, followee_id);
-- The foreign key's cascade when a followee is deleted (one server).
CREATE INDEX follows_followee_id_idx ON follows (followee_id);

CREATE TABLE followers (
    user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    follower_id bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, follower_id),
    CONSTRAINT followers_follower_id_fkey FOREIGN KEY (follower_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT followers_not_self CHECK (user_id <> follower_id)
);
CREATE INDEX followers_user_id_created_at_idx ON followers (user_id, created_at, follower_id);
CREATE INDEX followers_follower_id_idx ON followers (follower_id);

-- On Citus the key to the other user cannot be enforced across shards
-- ("cannot create foreign key constraint"): it is dropped, with the index
-- that served its cascade, and the repository keeps the rule. Each edge's
-- two rows are written together, and each row's key to its own user holds
-- on its shard, so neither user can be missing when Follow commits;
-- DeleteUser deletes the rows of a user's edges on the other users' shards.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
        ALTER TABLE follows DROP CONSTRAINT follows_followee_id_fkey;
        ALTER TABLE followers DROP CONSTRAINT followers_follower_id_fkey;
        DROP INDEX follows_followee_id_idx;
        DROP INDEX followers_follower_id_idx;
        PERFORM create_distributed_table('follows', 'user_id', colocate_with => 'users');
        PERFORM create_distributed_table('followers', 'user_id', colocate_with => 'users');
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE followers;
DROP TABLE follows;
