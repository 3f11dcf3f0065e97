-- +goose Up
-- make lint (squawk): this migration ran when each database was created, on
-- tables the migrations before it had just made, still empty: no write waited
-- on its locks or scans. On a live table the same change takes the forms
-- CONTRIBUTING.md ("Migrations on a live database") shows.
-- squawk-ignore-file adding-foreign-key-constraint, adding-not-nullable-field, adding-serial-primary-key-field, constraint-missing-not-valid, require-concurrent-index-creation, require-concurrent-index-deletion
-- Keys by user: every primary key of a user's rows starts with user_id, so
-- that the same schema can be distributed by user (Citus: a distributed
-- table's primary and unique keys must contain its distribution column; see
-- SCALING.md). On one server nothing changes for a caller: ids stay unique
-- (one identity sequence per table), and the indexes on id alone serve the
-- lookups by id.

-- addresses: (user_id, id) is the key and serves a user's addresses, as
-- addresses_user_id_idx did; (id) serves DeleteAddress.
ALTER TABLE addresses DROP CONSTRAINT addresses_pkey,
    ADD CONSTRAINT addresses_pkey PRIMARY KEY (user_id, id);
DROP INDEX addresses_user_id_idx;
CREATE INDEX addresses_id_idx ON addresses (id);

-- post_tags carries its post's user, so that it lives beside the post.
ALTER TABLE post_tags ADD COLUMN user_id bigint;
UPDATE post_tags pt SET user_id = p.user_id FROM posts p WHERE p.id = pt.post_id;
ALTER TABLE post_tags ALTER COLUMN user_id SET NOT NULL,
    DROP CONSTRAINT post_tags_post_id_fkey,
    DROP CONSTRAINT post_tags_pkey;

-- posts: (user_id, id) is the key and serves a user's posts, as
-- posts_user_id_idx did; (id) serves GetPost, UpdatePost, DeletePost, TagPost
-- and the pages of posts of all users.
ALTER TABLE posts DROP CONSTRAINT posts_pkey,
    ADD CONSTRAINT posts_pkey PRIMARY KEY (user_id, id);
DROP INDEX posts_user_id_idx;
CREATE INDEX posts_id_idx ON posts (id);

-- The key serves post -> tags and the post's foreign key;
-- post_tags_tag_id_idx still serves tag -> posts and the tag's.
ALTER TABLE post_tags ADD CONSTRAINT post_tags_pkey PRIMARY KEY (user_id, post_id, tag_id),
    ADD CONSTRAINT post_tags_user_id_post_id_fkey FOREIGN KEY (user_id, post_id)
        REFERENCES posts (user_id, id) ON DELETE CASCADE;

-- One owner per mailbox: the row of the address that holds each email key.
-- On one server, addresses_email_lower_key keeps emails unique for every
-- client, and this table follows addresses (the foreign key: no owner
-- without its address; deleting the address deletes its owner). On Citus,
-- where a unique index on addresses cannot span the shards, this table,
-- distributed by email_key, is the rule: the repository writes it in the
-- same statement as the address and deletes it with the address.
CREATE TABLE email_owners (
    email_key  text   PRIMARY KEY,
    user_id    bigint NOT NULL,
    address_id bigint NOT NULL,
    CONSTRAINT email_owners_address_fkey FOREIGN KEY (user_id, address_id)
        REFERENCES addresses (user_id, id) ON DELETE CASCADE
);
-- Serves the foreign key (an address's delete finds its owner) and
-- DeleteUser's delete of a user's owners.
CREATE INDEX email_owners_user_id_address_id_idx ON email_owners (user_id, address_id);

INSERT INTO email_owners (email_key, user_id, address_id)
SELECT email_key(email), user_id, id FROM addresses;

-- +goose Down
DROP TABLE email_owners;

ALTER TABLE post_tags DROP CONSTRAINT post_tags_user_id_post_id_fkey,
    DROP CONSTRAINT post_tags_pkey,
    DROP COLUMN user_id;

DROP INDEX posts_id_idx;
ALTER TABLE posts DROP CONSTRAINT posts_pkey,
    ADD CONSTRAINT posts_pkey PRIMARY KEY (id);
CREATE INDEX posts_user_id_idx ON posts (user_id, id);

ALTER TABLE post_tags ADD CONSTRAINT post_tags_pkey PRIMARY KEY (post_id, tag_id),
    ADD CONSTRAINT post_tags_post_id_fkey FOREIGN KEY (post_id) REFERENCES posts (id) ON DELETE CASCADE;

DROP INDEX addresses_id_idx;
ALTER TABLE addresses DROP CONSTRAINT addresses_pkey,
    ADD CONSTRAINT addresses_pkey PRIMARY KEY (id);
CREATE INDEX addresses_user_id_idx ON addresses (user_id, id);
