-- +goose Up
-- make lint (squawk): this migration ran when each database was created, on
-- tables the migrations before it had just made, still empty: no write waited
-- on its locks or scans. On a live table the same change takes the forms
-- CONTRIBUTING.md ("Migrations on a live database") shows.
-- squawk-ignore-file constraint-missing-not-valid, require-concurrent-index-creation, require-concurrent-index-deletion
-- Email uniqueness that ignores case for every Unicode letter, and CHECKs that
-- mean the same on any server, whatever its default locale or collation.

-- The key two addresses share when they are one mailbox: NFC (so composed and
-- decomposed accents are one address), then lower case by ICU's root locale
-- (an explicit collation: lower() under the database's default would be ASCII
-- only under the C locale), then final sigma as sigma (so case needs no
-- context). The stored email stays as given. The Go side computes the same key
-- (internal/repo emailKey); a test compares the two on every code point.
-- The SQL-standard body is bound when created: no search_path lookup at run time.
-- After an upgrade of the server's ICU, REINDEX INDEX addresses_email_lower_key.
CREATE FUNCTION email_key(email text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN replace(lower(normalize(email, NFC) COLLATE "und-x-icu"), 'ς', 'σ');

DROP INDEX addresses_email_lower_key;
CREATE UNIQUE INDEX addresses_email_lower_key ON addresses (email_key(email));

-- Blank characters: Unicode White_Space and the zero-width format characters
-- (U+180E, U+200B-U+200D, U+2060, U+FEFF), spelled out: [:space:] and \s follow
-- the collation (ASCII only under C) and differ between Go and PostgreSQL.
-- internal/repo/validate.go builds its regexes from the same list
-- (blankRanges); a test checks the text below against it.
ALTER TABLE users DROP CONSTRAINT users_name_not_blank,
    ADD CONSTRAINT users_name_not_blank
    CHECK (name ~ '[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u180e\u2000-\u200d\u2028-\u2029\u202f\u205f-\u2060\u3000\ufeff]');
ALTER TABLE posts DROP CONSTRAINT posts_title_not_blank,
    ADD CONSTRAINT posts_title_not_blank
    CHECK (title ~ '[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u180e\u2000-\u200d\u2028-\u2029\u202f\u205f-\u2060\u3000\ufeff]');
-- 254 octets, as RFC 5321 counts, and as Go's len does.
ALTER TABLE addresses DROP CONSTRAINT addresses_email_shape,
    ADD CONSTRAINT addresses_email_shape
    CHECK (octet_length(email) <= 254 AND email ~ '^[^@\u0009-\u000d\u0020\u0085\u00a0\u1680\u180e\u2000-\u200d\u2028-\u2029\u202f\u205f-\u2060\u3000\ufeff]+@[^@\u0009-\u000d\u0020\u0085\u00a0\u1680\u180e\u2000-\u200d\u2028-\u2029\u202f\u205f-\u2060\u3000\ufeff]+\.[^@\u0009-\u000d\u0020\u0085\u00a0\u1680\u180e\u2000-\u200d\u2028-\u2029\u202f\u205f-\u2060\u3000\ufeff]+$');
ALTER TABLE profiles DROP CONSTRAINT profiles_website_shape,
    ADD CONSTRAINT profiles_website_shape
    CHECK (website ~ '^https?://[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u180e\u2000-\u200d\u2028-\u2029\u202f\u205f-\u2060\u3000\ufeff]+$');

-- +goose Down
ALTER TABLE profiles DROP CONSTRAINT profiles_website_shape,
    ADD CONSTRAINT profiles_website_shape CHECK (website ~ '^https?://[^[:space:]]+$');
ALTER TABLE addresses DROP CONSTRAINT addresses_email_shape,
    ADD CONSTRAINT addresses_email_shape
    CHECK (char_length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$');
ALTER TABLE posts DROP CONSTRAINT posts_title_not_blank,
    ADD CONSTRAINT posts_title_not_blank CHECK (btrim(title) <> '');
ALTER TABLE users DROP CONSTRAINT users_name_not_blank,
    ADD CONSTRAINT users_name_not_blank CHECK (btrim(name) <> '');
DROP INDEX addresses_email_lower_key;
CREATE UNIQUE INDEX addresses_email_lower_key ON addresses (lower(email));
DROP FUNCTION email_key(text);
