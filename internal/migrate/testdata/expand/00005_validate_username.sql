-- +goose Up
-- ... then checked in a transaction of its own, under a lock that lets
-- reads and writes through ...
ALTER TABLE accounts VALIDATE CONSTRAINT accounts_username_not_null;

-- +goose Down
SELECT 1;
