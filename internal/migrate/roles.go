package migrate

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The roles of a least-privilege setup: the owner runs migrations and owns
// the schema; the application (and the seeder) reads and writes rows and can
// neither change nor drop the schema.
const (
	OwnerRole = "inkwell_owner"
	AppRole   = "inkwell_app"
)

// App role defaults: a runaway query, a forgotten open transaction or a lock
// queue ends instead of holding resources.
const (
	AppStatementTimeout         = "30s"
	AppIdleInTransactionTimeout = "60s"
	AppLockTimeout              = "10s"
)

// protectVersions keeps the app role off goose's version table, which the
// default privileges above would otherwise open to it. Up runs it too, since
// goose creates the table at the first migration.
//
// Migrators may run at once, and concurrent REVOKEs on one table fail ("tuple
// concurrently updated"): a transaction-level advisory lock serialises them,
// and a table already closed is left alone.
const protectVersions = `DO $$ BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('inkwell: protect goose_db_version'));
	IF EXISTS (SELECT FROM pg_roles WHERE rolname = '` + AppRole + `') AND to_regclass('goose_db_version') IS NOT NULL
		AND has_table_privilege('` + AppRole + `', 'goose_db_version', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE') THEN
		REVOKE ALL ON goose_db_version FROM ` + AppRole + `;
	END IF;
END $$`

// SetupRoles creates OwnerRole and AppRole if they do not exist, makes the
// owner own the database conn is connected to, its public schema and the
// tables in it, and gives the app role the rights on rows (and on temporary
// tables) and nothing on the schema, with timeouts. It is idempotent. conn
// must be a superuser's (or a role with CREATEROLE owning the database).
func SetupRoles(ctx context.Context, conn *pgx.Conn) error {
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		return fmt.Errorf("setup roles: %w", err)
	}
	database := pgx.Identifier{db}.Sanitize()
	statements := []string{
		`DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '` + OwnerRole + `') THEN CREATE ROLE ` + OwnerRole + ` LOGIN; END IF;
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '` + AppRole + `') THEN CREATE ROLE ` + AppRole + ` LOGIN; END IF;
		END $$`,
		"ALTER DATABASE " + database + " OWNER TO " + OwnerRole,
		"ALTER SCHEMA public OWNER TO " + OwnerRole,
		"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
		// Tables made before the roles existed (by an earlier superuser migration).
		`DO $$ DECLARE t record; BEGIN
			FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner <> '` + OwnerRole + `' LOOP
				EXECUTE format('ALTER TABLE public.%I OWNER TO ` + OwnerRole + `', t.tablename);
			END LOOP;
		END $$`,
		"GRANT CONNECT, TEMPORARY ON DATABASE " + database + " TO " + AppRole,
		"GRANT USAGE ON SCHEMA public TO " + AppRole,
		"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO " + AppRole,
		"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO " + AppRole,
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + OwnerRole + " IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO " + AppRole,
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + OwnerRole + " IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO " + AppRole,
		"ALTER ROLE " + AppRole + " IN DATABASE " + database + " SET statement_timeout = '" + AppStatementTimeout + "'",
		"ALTER ROLE " + AppRole + " IN DATABASE " + database + " SET idle_in_transaction_session_timeout = '" + AppIdleInTransactionTimeout + "'",
		"ALTER ROLE " + AppRole + " IN DATABASE " + database + " SET lock_timeout = '" + AppLockTimeout + "'",
		protectVersions,
	}
	for _, stmt := range statements {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("setup roles: %w", err)
		}
	}
	return nil
}
