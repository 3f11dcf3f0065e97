-- +goose Up
-- Distribution by user, on Citus only: on plain PostgreSQL (no citus
-- extension) this migration does nothing. The extension is a superuser's to
-- create, in every database on every node, before the migrations run (see
-- README, "Citus"); the schema owner distributes its own tables.
--
-- Every user's rows live on one shard: users by id; addresses, profiles,
-- posts and post_tags by user_id, co-located with users, so a user's rows
-- join and cascade on one node. email_owners by email_key, so that one shard
-- decides who owns an email. tags is small and read by every user's posts: a
-- reference table, copied to every node.
--
-- Citus cannot enforce what spans shards, so two rules move out of the
-- database here: the unique index on email_key(email) (not the distribution
-- column) and the foreign key email_owners -> addresses (not co-located). The
-- repository keeps both (it writes email_owners in the statement that writes
-- the address, and deletes it with the address); on plain PostgreSQL the
-- database keeps them for every client.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    DROP INDEX addresses_email_lower_key;
    ALTER TABLE email_owners DROP CONSTRAINT email_owners_address_fkey;
    PERFORM create_reference_table('tags');
    PERFORM create_distributed_table('users', 'id');
    PERFORM create_distributed_table('addresses', 'user_id', colocate_with => 'users');
    PERFORM create_distributed_table('profiles', 'user_id', colocate_with => 'users');
    PERFORM create_distributed_table('posts', 'user_id', colocate_with => 'users');
    PERFORM create_distributed_table('post_tags', 'user_id', colocate_with => 'users');
    PERFORM create_distributed_table('email_owners', 'email_key');
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    PERFORM undistribute_table('email_owners');
    -- users and every table whose foreign keys reach it (tags too).
    PERFORM undistribute_table('users', cascade_via_foreign_keys => true);
    CREATE UNIQUE INDEX addresses_email_lower_key ON addresses (email_key(email));
    ALTER TABLE email_owners ADD CONSTRAINT email_owners_address_fkey FOREIGN KEY (user_id, address_id)
        REFERENCES addresses (user_id, id) ON DELETE CASCADE;
END
$$;
-- +goose StatementEnd
