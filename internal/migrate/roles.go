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

// appRights adjusts the app role's rights on what the migrations made, when
// the role exists: it keeps the role off goose's version table, which the
// default privileges of SetupRoles would otherwise open to it, and lets it
// call reset_tables (Repo.Reset), whose EXECUTE the migration revokes from
// PUBLIC. SetupRoles runs it, and so does Up, since the roles may be set up
// before the migrations run or after.
//
// Migrators may run at once, and concurrent GRANTs or REVOKEs on one object
// fail ("tuple concurrently updated"): a transaction-level advisory lock
// serialises them, and rights already right are left alone.
const appRights = `DO $$ BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('inkwell: app rights'));
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '` + AppRole + `') THEN
		RETURN;
	END IF;
	IF to_regclass('public.goose_db_version') IS NOT NULL
		AND has_table_privilege('` + AppRole + `', 'public.goose_db_version', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE') THEN
		REVOKE ALL ON public.goose_db_version FROM ` + AppRole + `;
	END IF;
	IF to_regprocedure('public.reset_tables()') IS NOT NULL
		AND NOT has_function_privilege('` + AppRole + `', 'public.reset_tables()', 'EXECUTE') THEN
		GRANT EXECUTE ON FUNCTION public.reset_tables() TO ` + AppRole + `;
	END IF;
END $$`

// SetupRoles creates OwnerRole and AppRole if they do not exist, makes the
// owner own the database conn is connected to, its public schema and the
// tables in it, and gives the app role the rights on rows (and on temporary
// tables, and EXECUTE on reset_tables for Repo.Reset) and nothing on the
// schema, with timeouts. It is idempotent. conn
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
		// Tables (and reset_tables) made before the roles existed, by an earlier superuser migration.
		`DO $$ DECLARE t record; BEGIN
			FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner <> '` + OwnerRole + `' LOOP
				EXECUTE format('ALTER TABLE public.%I OWNER TO ` + OwnerRole + `', t.tablename);
			END LOOP;
			-- reset_tables runs as its owner (SECURITY DEFINER): the owner, not a superuser.
			IF to_regprocedure('public.reset_tables()') IS NOT NULL THEN
				ALTER FUNCTION public.reset_tables() OWNER TO ` + OwnerRole + `;
			END IF;
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
		appRights,
	}
	for _, stmt := range statements {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("setup roles: %w", err)
		}
	}
	return nil
}
