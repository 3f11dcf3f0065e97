-- The two rows of an edge: followers on the followee's shard, follows on the
-- follower's. Follow and Unfollow write the followers row first, then the
-- follows row, in one transaction, as DeleteUser locks them: the same order
-- for each edge, so that none of them deadlocks with a delete. Both rows take created_at
-- from now(), the transaction's start: the same value.

-- name: CreateFollower :exec
INSERT INTO followers (user_id, follower_id)
VALUES (@followee_id, @follower_id)
ON CONFLICT (user_id, follower_id) DO NOTHING;

-- name: CreateFollow :exec
INSERT INTO follows (user_id, followee_id)
VALUES (@follower_id, @followee_id)
ON CONFLICT (user_id, followee_id) DO NOTHING;

-- name: DeleteFollower :exec
DELETE FROM followers
WHERE user_id = @followee_id AND follower_id = @follower_id;

-- name: DeleteFollow :exec
DELETE FROM follows
WHERE user_id = @follower_id AND followee_id = @followee_id;

-- DeleteUser's part (after LockUserForDelete, before DeleteUser): the rows of
-- the user's edges that live with the other users, which on Citus no foreign
-- key reaches (on one server the keys' cascades would delete them too).
-- Each edge's followers row is locked before its follows row, as Follow and
-- Unfollow do. (Two deletes of users who follow each other may still
-- deadlock, each taking its own edges first: DeleteUser runs again.)

-- name: LockFollowersOfUser :exec
-- The mirror rows of the user's incoming edges, on the user's shard.
SELECT 1 FROM followers
WHERE user_id = @id
FOR UPDATE;

-- name: DeleteFollowsOfFollowee :exec
-- The incoming edges' follows rows, on their followers' shards.
DELETE FROM follows
WHERE followee_id = @id
  AND user_id IN (SELECT f.follower_id FROM followers f WHERE f.user_id = @id);

-- name: DeleteFollowersOfFollower :exec
-- The outgoing edges' followers rows, on their followees' shards (the
-- follows rows go with the user, by its key's cascade).
DELETE FROM followers
WHERE follower_id = @id
  AND user_id IN (SELECT f.followee_id FROM follows f WHERE f.user_id = @id);
