-- A scratch table for UpsertUsersByEmail, created afresh for each batch of an
-- import and dropped after it (or at commit). sqlc reads this file as part of
-- the schema so that queries on the table are typed; the repository runs it.
-- position is the row's place in the import, for errors that name it.
CREATE TEMPORARY TABLE user_imports (
    position bigint  NOT NULL,
    email    text    NOT NULL,
    name     text    NOT NULL,
    age      integer NOT NULL
) ON COMMIT DROP;
