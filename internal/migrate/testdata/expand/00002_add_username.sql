-- +goose Up
-- Expand: the new column, nullable (no scan, no rewrite), and a trigger
-- that keeps it and the old one equal whichever a release writes: the
-- running release writes login, the next one username.
ALTER TABLE accounts ADD COLUMN username text;

-- +goose StatementBegin
CREATE FUNCTION accounts_sync_username() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.username := coalesce(NEW.username, NEW.login);
        NEW.login := coalesce(NEW.login, NEW.username);
    ELSIF NEW.username IS DISTINCT FROM OLD.username THEN
        NEW.login := NEW.username;
    ELSE
        NEW.username := NEW.login;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER accounts_sync_username BEFORE INSERT OR UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_sync_username();

-- +goose Down
DROP TRIGGER accounts_sync_username ON accounts;
DROP FUNCTION accounts_sync_username();
ALTER TABLE accounts DROP COLUMN username;
