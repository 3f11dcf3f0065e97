-- name: ResetTables :exec
-- Empties every table and restarts the ids at 1, in the caller's transaction
-- (see db/schema/00004_reset_function.sql).
SELECT reset_tables();
