-- The locks that make a user's writes whole on Citus. A write that puts
-- rows of one user on two workers (an edge's two rows; an address and its
-- email_owners row) commits there one worker after the other (two-phase
-- commit): a delete that found the rows on one worker committed could miss
-- those still prepared on the other, and leave them orphaned (an edge with
-- no mirror, an email taken by nobody). Such a write takes a shared lock on
-- its users before it commits, held to the end of its transaction; a delete
-- of such rows (DeleteUser, DeleteAddress) first takes the same lock
-- exclusively. The coordinator keeps its locks until every worker has
-- committed, so a delete waits for the whole write, and a write that comes
-- after the delete finds no user (ErrNotFound).
-- Statements without a distributed table in their FROM: Citus runs them on
-- the coordinator. The two-int4 key space: no clash with the migrator's
-- bigint keys; the key's text is the one the first of these locks had, so
-- that old and new binaries share it during a rolling deploy.
-- In a transaction that has written the user's rows already (InTx), the
-- shared lock comes after their row locks: a delete of that user at that
-- moment waits for the rows on a worker while the write waits for the lock
-- on the coordinator, a deadlock Citus's detector breaks (it looks every
-- deadlock_timeout times citus.distributed_deadlock_detection_factor, 2 s
-- by default), and the transaction that loses is retried (checked once: a
-- DeleteUser lost, ran again, and deleted the user after the transaction).

-- name: LockEdgeUsers :exec
-- Follow and Unfollow's first statement: both users of the edge.
SELECT pg_advisory_xact_lock_shared(hashtext('inkwell: user edges'), hashint8(@follower_id::bigint)),
       pg_advisory_xact_lock_shared(hashtext('inkwell: user edges'), hashint8(@followee_id::bigint));

-- name: LockUserForWrite :exec
-- AddAddress's first statement on Citus.
SELECT pg_advisory_xact_lock_shared(hashtext('inkwell: user edges'), hashint8(@user_id::bigint));

-- name: LockNewUserForWrite :exec
-- RegisterUser's lock on Citus, taken right after CreateUser, on the user
-- this session created last: a delete of that id (a guess, or an id a
-- reader saw committed on the user's worker) waits for the whole
-- registration; one that took its lock first finds no user.
SELECT pg_advisory_xact_lock_shared(hashtext('inkwell: user edges'),
                                    hashint8(currval(pg_get_serial_sequence('users', 'id'))));

-- name: LockUserWrites :exec
-- DeleteUser's first statement: waits for every write of the user under way
-- to commit on every node, and keeps new ones out until the delete ends.
SELECT pg_advisory_xact_lock(hashtext('inkwell: user edges'), hashint8(@id::bigint));

-- name: LockAddressUserWrites :exec
-- DeleteAddress's first statement on Citus: LockUserWrites on the user of
-- the address (none when there is no such address). The address is found
-- by a subquery, which Citus runs first, so the lock is still taken on the
-- coordinator.
SELECT pg_advisory_xact_lock(hashtext('inkwell: user edges'),
                             hashint8((SELECT a.user_id FROM addresses a WHERE a.id = @id)));
