-- +goose Up
-- The live table: the application writes login.
CREATE TABLE accounts (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login text   NOT NULL
);

-- +goose Down
DROP TABLE accounts;
