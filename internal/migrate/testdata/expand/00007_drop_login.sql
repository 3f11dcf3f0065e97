-- +goose Up
-- Contract, once no running release reads or writes login.
DROP TRIGGER accounts_sync_username ON accounts;
DROP FUNCTION accounts_sync_username();
ALTER TABLE accounts DROP COLUMN login;

-- +goose Down
-- A rollback for a table no release writes any more: short, not live-safe
-- (on a live table, run the expand steps again for login).
ALTER TABLE accounts ADD COLUMN login text;
UPDATE accounts SET login = username;
-- squawk-ignore adding-not-nullable-field
ALTER TABLE accounts ALTER COLUMN login SET NOT NULL;
