package repo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/inkwell-dev/inkwell/db"
	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// dbEmailKeys computes the server's email_key of each string, in one round
// trip.
func dbEmailKeys(t testing.TB, pool *pgxpool.Pool, in []string) []string {
	t.Helper()
	var out []string
	err := pool.QueryRow(context.Background(),
		`SELECT coalesce(array_agg(email_key(s) ORDER BY n), '{}') FROM unnest($1::text[]) WITH ORDINALITY AS t (s, n)`,
		in).Scan(&out)
	require.NoError(t, err)
	require.Len(t, out, len(in))
	return out
}

// refusesKeyOf reports whether checkEmail refuses an address that contains s
// because of a character whose key may differ.
func refusesKeyOf(s string) bool {
	for _, r := range s {
		if r >= utf8.RuneSelf && !keyStable(r) {
			return checkEmail("a"+s+"@example.com") != nil
		}
	}
	return false
}

// TestEmailKeyMatchesDatabase computes the key of every Unicode scalar value
// (but NUL, which text cannot hold) in Go and in the database, alone and in
// the contexts where lower case or NFC look at neighbours: after a letter and
// before @ (final sigma), after a base letter and before or after combining
// marks (composition and canonical order), after İ (a full case mapping to
// two characters). Every disagreement must be a character that checkEmail
// refuses, so that no address reaches the database with a key Go gets wrong.
func TestEmailKeyMatchesDatabase(t *testing.T) {
	t.Parallel()
	require.Equal(t, unicode.Version, norm.Version, "Go's and x/text's Unicode versions differ: keyStable's notion of assigned no longer matches the key")
	require.Equal(t, unicode.Version, cases.UnicodeVersion, "Go's and x/text's Unicode versions differ")
	pool := pgtest.NewPool(t)

	contexts := []string{"%s", "e%s", "%s\u0301", "a\u0345%s", "\u0323%s\u0301", "İ%s", "ΑΣ%s", "%sΣ@"}
	const chunk = 1 << 16
	var disagree []rune
	in := make([]string, 0, chunk)
	runes := make([]rune, 0, chunk)
	// A chunk goes to the database while Go computes the keys of the one before.
	pending := make(chan func(), 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for check := range pending {
			check()
		}
	}()
	compare := func(in []string, runes []rune, out []string) {
		for i, s := range in {
			if emailKey(s) != out[i] {
				if len(disagree) == 0 || disagree[len(disagree)-1] != runes[i] {
					disagree = append(disagree, runes[i])
				}
				if !refusesKeyOf(string(runes[i])) {
					t.Errorf("U+%04X: %q has key %q in Go and %q in the database, and checkEmail accepts it",
						runes[i], s, emailKey(s), out[i])
				}
			}
		}
	}
	flush := func() {
		out := dbEmailKeys(t, pool, in)
		in, runes := in, runes
		pending <- func() { compare(in, runes, out) }
	}
	for r := rune(1); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue // surrogates are not scalar values
		}
		// The contexts of one code point in one string, apart: | is neither
		// cased nor case-ignorable, and composes with nothing.
		var b strings.Builder
		for i, c := range contexts {
			if i > 0 {
				b.WriteByte('|')
			}
			fmt.Fprintf(&b, c, string(r))
		}
		in, runes = append(in, b.String()), append(runes, r)
		if len(in) == chunk {
			flush()
			in, runes = make([]string, 0, chunk), make([]rune, 0, chunk)
		}
	}
	flush()
	close(pending)
	<-done
	// Informational: what checkEmail refuses because of this server.
	t.Logf("code points whose keys differ on this server (all refused by checkEmail): %U", disagree)
}

// FuzzEmailKey compares Go's key with the database's for arbitrary valid
// strings: they agree, or checkEmail refuses the string.
func FuzzEmailKey(f *testing.F) {
	for _, s := range []string{
		"zoë@example.com", "ZOË@EXAMPLE.COM", "Zoe\u0308@example.com", "ΟΔΥΣΣΕΥΣ@example.com", "ʰΣ@x.io",
		"ΣΑΣ.ΣΑΣ@x.io", "İstanbul@x.io", "ﬁle@x.io", "ǅemal@x.io", "\u212Aelvin@x.io", "K\u0301@x.io",
		"a\u0345\u0301\u0323@x.io", "ИВАН@пример.рф", "ß@x.io", "\U0001E4EC\u0301@x.io", "\U00010D50@x.io",
		"e\u0301\u0301\u0323@x", "Ω\u0345Σ\u0342@x", "ㄱㅏ@x", "\uFB2C@x", "a\u200dΣ@x",
	} {
		f.Add(s)
	}
	pool := pgtest.NewPool(f)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return // text cannot hold it, and checkText refuses it
		}
		got := dbEmailKeys(t, pool, []string{s})[0]
		if want := emailKey(s); want != got && !refusesKeyOf(s) {
			t.Fatalf("%q: Go key %q, database key %q, and checkEmail accepts it", s, want, got)
		}
	})
}

// TestEmailKeyMigrationDown: the migration that brings email_key goes down
// to the index and CHECKs it replaced, and up again.
func TestEmailKeyMigrationDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	conn := stdlib.OpenDBFromPool(pool)
	defer conn.Close()
	// No session lock: this database is the test's own, and the pool may go
	// through a transaction pooler.
	p, err := goose.NewProvider(goose.DialectPostgres, conn, db.Migrations())
	require.NoError(t, err)
	var version int64
	for _, s := range p.ListSources() {
		if strings.Contains(s.Path, "email_key") {
			version = s.Version // the first: a later one may change email_key
			break
		}
	}
	require.NotZero(t, version, "no migration named for email_key")

	indexDef := func() string {
		var def string
		require.NoError(t, pool.QueryRow(ctx, `SELECT pg_get_indexdef('addresses_email_lower_key'::regclass)`).Scan(&def))
		return def
	}
	checkDef := func() string {
		var def string
		require.NoError(t, pool.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'users_name_not_blank'`).Scan(&def))
		return def
	}
	if pgtest.Citus() {
		// Distributed (00008), addresses cannot keep a unique index on
		// email_key(email): email_owners holds the rule. Going down past
		// 00008 undistributes and brings the index back.
		var present bool
		require.NoError(t, pool.QueryRow(ctx, `SELECT to_regclass('addresses_email_lower_key') IS NOT NULL`).Scan(&present))
		require.False(t, present)
	} else {
		require.Contains(t, indexDef(), "email_key(email)")
	}

	_, err = p.DownTo(ctx, version-1)
	require.NoError(t, err)
	require.Contains(t, indexDef(), "(lower(email))")
	require.Contains(t, checkDef(), "btrim(name)")
	var fns int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_proc WHERE proname = 'email_key'`).Scan(&fns))
	require.Zero(t, fns)

	_, err = p.UpTo(ctx, version)
	require.NoError(t, err)
	require.Contains(t, indexDef(), "email_key(email)")
	require.Contains(t, checkDef(), pgBlank)
}

// TestEmailKeyASCIIShortWay: the database's email_key takes a short way
// for ASCII (migration 00009); on every ASCII character, and every pair of
// them, it gives the key of the full way (NFC, ICU's lower case, final
// sigma), and NULL for NULL.
func TestEmailKeyASCIIShortWay(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	var differ []string
	var null bool
	err := pool.QueryRow(context.Background(), `
		WITH c AS (SELECT chr(i) AS s FROM generate_series(1, 127) AS i),
		     s AS (SELECT s FROM c UNION ALL SELECT a.s || b.s FROM c a, c b)
		SELECT coalesce(array_agg(s), '{}'), email_key(NULL) IS NULL FROM s
		WHERE email_key(s) IS DISTINCT FROM replace(lower(normalize(s, NFC) COLLATE "und-x-icu"), 'ς', 'σ')
		   OR email_key(s) COLLATE "C" <> replace(lower(normalize(s, NFC) COLLATE "und-x-icu"), 'ς', 'σ') COLLATE "C"`).Scan(&differ, &null)
	require.NoError(t, err)
	require.Empty(t, differ)
	require.True(t, null)
}

// TestEmailKeyMarkRuns: on runs of combining marks around the bounds (13
// and 14 of checkEmail, 30 and 31 of the Stream-Safe Text Format, past which
// Go's NFC inserts U+034F and the server's does not), of one mark or
// several, of one combining class or mixed (which NFC reorders), after bases
// that bring marks of their own, in the local part or the domain: Go and the
// schema's CHECKs accept the same emails, and Go's key of every accepted one
// is the server's.
func TestEmailKeyMarkRuns(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	var checks []string
	cols, _ := checkedColumns(t, pool)
	for _, col := range cols {
		if col.key() == "addresses.email" {
			for _, e := range col.exprs {
				checks = append(checks, "coalesce(("+e+"), true)")
			}
		}
	}
	require.NotEmpty(t, checks)
	bases := []string{"a", "A", "é", "e", "ᾂ" /* ω and three marks */, "\u01d5" /* Ǖ: U and two */, "Σ", "ㅏ"}
	runs := [][]string{
		{"\u0301"}, {"\u0301", "\u0323"}, {"\u0323", "\u0301", "\u0345"}, {"\u0300", "\u0301", "\u0302", "\u0303"},
		{"\u0344"}, {"\u0f73"}, {"\u0f72", "\u0f71"}, {"\U0001d165", "\U0001d16d"}, {"\u05b0", "\u05b4"}, {"\u0345"},
		{"\u1161"}, {"\u0bbe"},
	}
	var in []string
	for _, base := range bases {
		for _, marks := range runs {
			for _, n := range []int{1, 2, 12, 13, 14, 15, 29, 30, 31, 32, 33} {
				var b strings.Builder
				b.WriteString(base)
				for i := range n {
					b.WriteString(marks[i%len(marks)])
				}
				run := b.String()
				in = append(in, run+"@example.com", "x@"+run+".example.com", run+"x"+run+"@example.com")
			}
		}
	}
	var accepted []bool
	var keys []string
	require.NoError(t, pool.QueryRow(context.Background(), `
		SELECT array_agg(`+strings.Join(checks, " AND ")+` ORDER BY n), array_agg(email_key(email) ORDER BY n)
		FROM unnest($1::text[]) WITH ORDINALITY AS t (email, n)`, in).Scan(&accepted, &keys))
	require.Len(t, accepted, len(in))
	var refused, differ int
	for i, s := range in {
		goErr := checkEmail(s)
		if len(s) > MaxEmailLen {
			continue // too long for both; not what this test is about
		}
		require.Equal(t, accepted[i], goErr == nil, "%q (%+q): Go says %v, the CHECKs accept: %v", s, s, goErr, accepted[i])
		if goErr != nil {
			refused++
			require.ErrorIs(t, goErr, ErrInvalid)
			if emailKey(s) != keys[i] {
				differ++
			}
			continue
		}
		require.Equal(t, keys[i], emailKey(s), "%q (%+q): Go's key and the server's differ", s, s)
	}
	require.Positive(t, refused)
	require.Positive(t, differ, "some refused emails would have had two keys")
}
