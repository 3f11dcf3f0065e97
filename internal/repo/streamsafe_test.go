package repo

import (
	"context"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// cgj reports whether Go's NFC of s inserts a COMBINING GRAPHEME JOINER.
func cgj(s string) bool {
	return strings.Count(norm.NFC.String(s), "\u034f") > strings.Count(s, "\u034f")
}

// TestNonStarters holds nonStarters and maxNonStarterRun to x/text's NFC,
// on every assigned code point (x/text gives the others no properties): a
// code point is listed exactly when 31 of it make NFC insert U+034F (it
// counts toward the Stream-Safe bound); none counts more than 2; and no
// code point before a run of maxNonStarterRun of the heaviest adds enough
// to reach the bound. So no email checkEmail accepts has a U+034F put in
// its key.
func TestNonStarters(t *testing.T) {
	t.Parallel()
	require.Equal(t, "15.0.0", norm.Version, "nonStarters is Unicode 15.0's: list it again from x/text's tables, and the schema's CHECK with it (a migration)")
	heaviest := strings.Repeat("\u0344", maxNonStarterRun) // counts 2 each
	require.True(t, nonStarter('\u0344'))
	for r := rune(1); r <= unicode.MaxRune; r++ {
		if !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf) {
			continue
		}
		s := string(r)
		require.Equal(t, cgj(strings.Repeat(s, 31)), nonStarter(r), "U+%04X", r)
		if nonStarter(r) {
			require.False(t, cgj("a"+strings.Repeat(s, 15)), "U+%04X counts more than 2", r)
		} else {
			require.False(t, cgj(s+heaviest), "U+%04X and %d non-starters", r, maxNonStarterRun)
		}
	}
	require.True(t, cgj("\u1f82"+heaviest+"\u0344"), "the bound is tight: one more may overflow")
}

// TestChecksSpellNonStarters: the schema's CHECK on runs of non-starters
// spells nonStarters and maxNonStarterRun, so that it refuses what
// checkEmail refuses (TestEmailKeyMarkRuns tries both).
func TestChecksSpellNonStarters(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	var def string
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'addresses_email_stream_safe'`).Scan(&def))
	require.Contains(t, def, "["+pgNonStarters+"]{14}")
	require.Equal(t, 14, maxNonStarterRun+1)
}
