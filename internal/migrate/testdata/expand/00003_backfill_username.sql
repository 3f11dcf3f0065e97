-- +goose NO TRANSACTION
-- +goose Up
-- Backfill the rows written before the trigger, a thousand at a time, each
-- batch committed: no row stays locked for longer than its batch.
-- +goose StatementBegin
DO $$
DECLARE
    n bigint;
BEGIN
    LOOP
        UPDATE accounts SET username = login
        WHERE id IN (SELECT id FROM accounts WHERE username IS NULL LIMIT 1000);
        GET DIAGNOSTICS n = ROW_COUNT;
        EXIT WHEN n = 0;
        COMMIT;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
SELECT 1;
