-- name: CopyUserImports :copyfrom
INSERT INTO user_imports (email, name, age)
VALUES (@email, @name, @age);

-- name: DropUserImports :exec
DROP TABLE user_imports;

-- name: UpdateImportedUsers :execrows
-- Users whose email is registered already take the imported name and age;
-- rows that would not change are left alone (and not counted).
UPDATE users u
SET name = i.name,
    age  = i.age
FROM user_imports i
JOIN addresses a ON lower(a.email) = lower(i.email)
WHERE u.id = a.user_id
  AND (u.name, u.age) IS DISTINCT FROM (i.name, i.age);

-- name: InsertImportedUsers :execrows
-- Imported emails registered to nobody become new users with that address.
-- The CTE is materialised once, so each new row takes one id for both inserts.
WITH fresh AS MATERIALIZED (
    SELECT nextval('users_id_seq'::regclass) AS id, i.email, i.name, i.age
    FROM user_imports i
    WHERE NOT EXISTS (SELECT 1 FROM addresses a WHERE lower(a.email) = lower(i.email))
), new_users AS (
    INSERT INTO users (id, name, age)
    SELECT id, name, age FROM fresh
)
INSERT INTO addresses (user_id, email)
SELECT id, email FROM fresh;
