-- name: ReserveIDs :one
-- Reserves ids for a bulk load in one round trip, so that children can refer
-- to parents before either is sent. Ids come from the tables' own identity
-- sequences: concurrent inserts never collide with them, but a block need not
-- be contiguous. The sequences are named as literals: a name looked up per
-- row (pg_get_serial_sequence) costs ten times the nextval.
SELECT
    ARRAY(SELECT nextval('users_id_seq'::regclass) FROM generate_series(1, @users::integer))::bigint[] AS user_ids,
    ARRAY(SELECT nextval('addresses_id_seq'::regclass) FROM generate_series(1, @addresses::integer))::bigint[] AS address_ids,
    ARRAY(SELECT nextval('posts_id_seq'::regclass) FROM generate_series(1, @posts::integer))::bigint[] AS post_ids;

-- The COPY statements of a bulk load, with ids reserved by ReserveIDs.
-- created_at takes its default.

-- name: CopyUsersWithIDs :copyfrom
INSERT INTO users (id, name, age)
VALUES (@id, @name, @age);

-- name: CopyAddresses :copyfrom
INSERT INTO addresses (id, user_id, email)
VALUES (@id, @user_id, @email);

-- name: CopyProfiles :copyfrom
INSERT INTO profiles (user_id, bio, website)
VALUES (@user_id, @bio, @website);

-- name: CopyPosts :copyfrom
INSERT INTO posts (id, user_id, title, content, published, rating)
VALUES (@id, @user_id, @title, @content, @published, @rating);

-- name: CopyEmailOwners :copyfrom
-- email_key is the client's emailKey of the address's email, which a test
-- holds equal to the SQL function email_key.
INSERT INTO email_owners (email_key, user_id, address_id)
VALUES (@email_key, @user_id, @address_id);

-- name: CopyPostTags :copyfrom
INSERT INTO post_tags (user_id, post_id, tag_id)
VALUES (@user_id, @post_id, @tag_id);

-- name: CopyPostsOfUsers :copyfrom
-- Posts of users who exist already; ids from the sequence.
INSERT INTO posts (user_id, title, content, published, rating)
VALUES (@user_id, @title, @content, @published, @rating);
