package migrate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestLeastPrivilege: the owner migrates; the app role does everything the
// repository does (temporary tables and TRUNCATE included) but cannot create,
// alter or drop anything, and has timeouts.
func TestLeastPrivilege(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := pgtest.StartCluster(t, pgtest.Throwaway)
	admin, err := c.URL("postgres")
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, admin)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE inkwell")
	require.NoError(t, err)
	superURL, err := c.URL("inkwell")
	require.NoError(t, err)
	db, err := pgx.Connect(ctx, superURL)
	require.NoError(t, err)
	defer db.Close(ctx)
	require.NoError(t, migrate.SetupRoles(ctx, db))
	require.NoError(t, migrate.SetupRoles(ctx, db), "idempotent")

	as := func(role string) string { return strings.Replace(superURL, "postgres@", role+"@", 1) }
	owner, err := pgxpool.New(ctx, as(migrate.OwnerRole))
	require.NoError(t, err)
	defer owner.Close()
	// Five migrators at once, as at a deploy of several instances: with the
	// app role present each also closes goose's table to it.
	errs := make(chan error, 5)
	for range 5 {
		go func() { _, err := migrate.UpPool(ctx, owner); errs <- err }()
	}
	for range 5 {
		require.NoError(t, <-errs, "the owner migrates")
	}

	app, err := repo.OpenPool(ctx, as(migrate.AppRole), repo.PoolConfig{})
	require.NoError(t, err)
	defer app.Close()
	r := repo.New(app)
	u, err := r.RegisterUser(ctx, repo.NewUser{Name: "App", Age: 1}, "app@example.com")
	require.NoError(t, err)
	_, err = r.TagPost(ctx, must(r.CreatePost(ctx, repo.NewPost{UserID: u.ID, Title: "Hi"})).ID, "go")
	require.NoError(t, err)
	res, err := r.UpsertUsersByEmail(ctx, func(yield func(repo.UserImport, error) bool) {
		yield(repo.UserImport{Email: "new@example.com", Name: "New", Age: 2}, nil)
	}, repo.BulkOptions{})
	require.NoError(t, err, "temporary tables are allowed")
	require.EqualValues(t, 1, res.Users)
	_, err = r.BulkInsertGraphs(ctx, func(yield func(repo.UserGraph, error) bool) {
		yield(repo.UserGraph{User: repo.NewUser{Name: "Graph", Age: 3}, Emails: []string{"g@example.com"}}, nil)
	}, repo.BulkOptions{})
	require.NoError(t, err, "reserving ids from the sequences is allowed")
	require.NoError(t, r.Reset(ctx), "TRUNCATE ... RESTART IDENTITY is allowed")

	// A table a user adds later is the app's to use, and Reset's to empty.
	grown, _ := pgtest.Grown(t)
	ownerDB := stdlib.OpenDBFromPool(owner)
	defer ownerDB.Close()
	_, err = migrate.UpFS(ctx, ownerDB, grown)
	require.NoError(t, err, "the owner applies the user's migration")
	u, err = r.RegisterUser(ctx, repo.NewUser{Name: "Commenter", Age: 4}, "c@example.com")
	require.NoError(t, err)
	post := must(r.CreatePost(ctx, repo.NewPost{UserID: u.ID, Title: "Hello"}))
	_, err = app.Exec(ctx, "INSERT INTO "+pgtest.GrownTable+" (user_id, post_id, body) VALUES ($1, $2, 'hi')", u.ID, post.ID)
	require.NoError(t, err, "the default privileges open the new table to the app role")
	require.NoError(t, r.Reset(ctx), "Reset empties the new table too")
	var left int
	require.NoError(t, app.QueryRow(ctx, "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM "+pgtest.GrownTable+")").Scan(&left))
	require.Zero(t, left)

	for _, ddl := range []string{
		"CREATE TABLE evil (id int)",
		"ALTER TABLE users ADD COLUMN evil int",
		"DROP TABLE users",
		"DROP INDEX addresses_email_lower_key",
		"CREATE INDEX evil ON users (name)",
		"TRUNCATE goose_db_version",
		"ALTER FUNCTION reset_tables() SECURITY INVOKER",
	} {
		_, err := app.Exec(ctx, ddl)
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr, ddl)
		require.Contains(t, []string{pgerrcode.InsufficientPrivilege}, pgErr.Code, "%s: %v", ddl, err)
	}
	// An initial load takes keys and indexes off: the app role is refused,
	// told which right it lacks, before anything is locked; the owner loads.
	graph := func(yield func(repo.UserGraph, error) bool) {
		yield(repo.UserGraph{User: repo.NewUser{Name: "Initial", Age: 5}, Emails: []string{"i@example.com"}}, nil)
	}
	_, err = r.InitialLoadGraphs(ctx, graph, repo.InitialLoadOptions{})
	require.ErrorIs(t, err, repo.ErrPermission)
	require.ErrorIs(t, err, repo.ErrLoadRefused)
	require.ErrorContains(t, err, "role "+migrate.AppRole+" cannot alter the tables owned by "+migrate.OwnerRole+" (addresses, ")
	res, err = repo.New(owner).InitialLoadGraphs(ctx, graph, repo.InitialLoadOptions{})
	require.NoError(t, err, "the owner may")
	require.EqualValues(t, 1, res.Users)

	var timeout, idle string
	require.NoError(t, app.QueryRow(ctx, "SELECT current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout')").Scan(&timeout, &idle))
	require.Equal(t, migrate.AppStatementTimeout, timeout)
	require.Equal(t, "1min", idle)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
