-- name: HasCitus :one
-- Whether the database has the citus extension: writes of rows with
-- different distribution keys take a shape of their own there (repo's
-- onCitus, asked once per Repo).
SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus');
