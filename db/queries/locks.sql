-- The locks that make a user's writes whole on Citus. A write that puts
-- rows of one user on two workers (an edge's two rows; an address and its
-- email_owners row) commits there one worker after the other (two-phase
-- commit): a delete that found the rows on one worker committed could miss
-- those still prepared on the other, and leave them orphaned (an edge with
-- no mirror, an email taken by nobody). Such a write first takes a shared
-- lock on its users, held to the end of its transaction; DeleteUser first
-- takes the same lock exclusively. The coordinator keeps its locks until
-- every worker has committed, so a delete waits for the whole write, and a
-- write that comes after the delete finds no user (ErrNotFound).
-- Statements without a table: Citus runs them on the coordinator. The
-- two-int4 key space: no clash with the migrator's bigint keys.

-- name: LockEdgeUsers :exec
-- Follow and Unfollow's first statement: both users of the edge.
SELECT pg_advisory_xact_lock_shared(hashtext('inkwell: writes of a user'), hashint8(@follower_id::bigint)),
       pg_advisory_xact_lock_shared(hashtext('inkwell: writes of a user'), hashint8(@followee_id::bigint));

-- name: LockUserForWrite :exec
-- AddAddress's first statement on Citus.
SELECT pg_advisory_xact_lock_shared(hashtext('inkwell: writes of a user'), hashint8(@user_id::bigint));

-- name: LockNewUserForWrite :exec
-- RegisterUser's lock on Citus, taken right after CreateUser: on the user
-- this session created last. (No client knows the id before the commit,
-- but a delete can guess it.)
SELECT pg_advisory_xact_lock_shared(hashtext('inkwell: writes of a user'),
                                    hashint8(currval(pg_get_serial_sequence('users', 'id'))));

-- name: LockUserWrites :exec
-- DeleteUser's first statement: waits for every write of the user under way
-- to commit on every node, and keeps new ones out until the delete ends.
SELECT pg_advisory_xact_lock(hashtext('inkwell: writes of a user'), hashint8(@id::bigint));
