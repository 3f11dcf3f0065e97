-- +goose Up
-- NOT NULL without a scan under an exclusive lock: first a CHECK that new
-- writes must pass, not checked against the rows there (NOT VALID) ...
ALTER TABLE accounts ADD CONSTRAINT accounts_username_not_null CHECK (username IS NOT NULL) NOT VALID;

-- +goose Down
ALTER TABLE accounts DROP CONSTRAINT accounts_username_not_null;
