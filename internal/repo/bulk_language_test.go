package repo_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// The bulk loads name the failing row, its table and the right sentinel when
// the server's messages are in another language: German ("COPY posts, Zeile
// 3") and Japanese ("postsのCOPY、行 3", the key before the table), whose
// messages PostgreSQL ships. The server is a cluster of the test's own, on
// this machine, so the locales it needs are made here when missing.
func TestBulkErrorsInAnotherLanguage(t *testing.T) {
	t.Parallel()
	var locales []string
	for _, lang := range []string{"de_DE", "ja_JP"} {
		locales = append(locales, provideLocale(t, lang))
	}
	c := pgtest.StartCluster(t, pgtest.Throwaway)

	for _, locale := range locales {
		t.Run(locale, func(t *testing.T) {
			t.Parallel()
			url := pgtest.CreateDatabase(t, c, "bulk_"+strings.ToLower(locale[:5]))
			cfg, err := pgxpool.ParseConfig(url)
			require.NoError(t, err)
			// lc_messages is for superusers to set; the cluster's URL is one.
			cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
				_, err := conn.Exec(ctx, "SELECT set_config('lc_messages', $1, false)", locale)
				return err
			}
			pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
			require.NoError(t, err)
			t.Cleanup(pool.Close)
			e := env{Repo: repo.New(pool), pool: pool, ctx: context.Background()}

			// The server does speak another language on these connections.
			english, err := pgx.Connect(e.ctx, url)
			require.NoError(t, err)
			defer english.Close(e.ctx)
			_, err = english.Exec(e.ctx, "SET lc_messages = 'C'")
			require.NoError(t, err)
			divide := func(q interface {
				QueryRow(context.Context, string, ...any) pgx.Row
			}) string {
				var pgErr *pgconn.PgError
				require.ErrorAs(t, q.QueryRow(e.ctx, "SELECT 1/0").Scan(new(int)), &pgErr)
				return pgErr.Message
			}
			require.NotEqual(t, divide(english), divide(pool), "the server's messages are not translated into %s", locale)

			t.Run("ErrDuplicateOfExisting", func(t *testing.T) {
				e.mustRegister(t, "Owner", 30, "taken@example.com")
				in := graphs(25)
				in[15].Emails[1] = "Taken@example.com"
				_, err := e.BulkInsertGraphs(e.ctx, seqOf(in, 0), repo.BulkOptions{BatchSize: 10})
				require.ErrorIs(t, err, repo.ErrConflict)
				var rowErr *repo.RowError
				require.ErrorAs(t, err, &rowErr)
				require.Equal(t, repo.RowError{Position: 16, Table: "addresses", Err: rowErr.Err}, *rowErr, "%v", err)
			})

			t.Run("ErrDanglingReference", func(t *testing.T) {
				alice := e.mustRegister(t, "Alice", 30)
				posts := make([]repo.NewPost, 30)
				for i := range posts {
					posts[i] = repo.NewPost{UserID: alice.ID, Title: fmt.Sprintf("Post %d", i+1), Rating: 1}
				}
				posts[21].UserID = alice.ID + 1000
				_, err := e.BulkCreatePosts(e.ctx, seqOf(posts, 0), repo.BulkOptions{BatchSize: 8})
				require.ErrorIs(t, err, repo.ErrNotFound)
				var rowErr *repo.RowError
				require.ErrorAs(t, err, &rowErr)
				require.Equal(t, repo.RowError{Position: 22, Table: "posts", Err: rowErr.Err}, *rowErr, "%v", err)
			})
		})
	}
}

// provideMu keeps two tests from running apt-get or localedef at once.
var provideMu sync.Mutex

// provideLocale returns the UTF-8 locale of lang ("de_DE") once this machine
// has it. When it does not (a fresh Debian or Ubuntu has only C.UTF-8), it
// makes it as locale-gen would, with localedef, installing the locales
// package first when localedef or the locale's source is missing. That needs
// root, or sudo without a password; otherwise the test fails saying what to
// run. C.UTF-8 will not do: it has no translations.
func provideLocale(t *testing.T, lang string) string {
	t.Helper()
	provideMu.Lock()
	defer provideMu.Unlock()
	name := lang + ".UTF-8"
	if hasLocale(t, name) {
		return name
	}
	_, err := exec.LookPath("localedef")
	_, errSource := os.Stat("/usr/share/i18n/locales/" + lang)
	if err != nil || errSource != nil {
		if err := asRoot(t, "apt-get", "install", "-y", "--no-install-recommends", "locales"); err != nil {
			// A fresh machine may not have the package lists yet.
			require.NoError(t, asRoot(t, "apt-get", "update"))
			require.NoError(t, asRoot(t, "apt-get", "install", "-y", "--no-install-recommends", "locales"))
		}
	}
	// -c: localedef exits non-zero on warnings about the source; whether the
	// locale was made is checked below.
	_ = asRoot(t, "localedef", "--no-archive", "-c", "-i", lang, "-f", "UTF-8", name)
	if !hasLocale(t, name) {
		t.Fatalf("locale %s is missing and could not be made; run: sudo localedef -i %s -f UTF-8 %s", name, lang, name)
	}
	return name
}

// hasLocale reports whether locale -a lists name, spelled either way
// (de_DE.UTF-8, de_DE.utf8).
func hasLocale(t *testing.T, name string) bool {
	t.Helper()
	out, err := exec.Command("locale", "-a").Output()
	require.NoError(t, err, "locale -a")
	norm := func(s string) string {
		return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "utf-8", "utf8")
	}
	return slices.ContainsFunc(strings.Split(string(out), "\n"), func(l string) bool { return norm(l) == norm(name) })
}

// asRoot runs a command as root (through sudo -n when the test is not root),
// logging its output.
func asRoot(t *testing.T, name string, args ...string) error {
	t.Helper()
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("sudo"); err != nil {
			return errors.New("not root, and no sudo")
		}
		name, args = "sudo", append([]string{"-n", name}, args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	return err
}
