package repo

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pieces are what the shape checks and emailKey turn on: every ASCII blank,
// @, dots, the URL schemes and their near misses, both letter cases, NUL,
// DEL, non-ASCII blanks, letters whose lower case or NFC is special, a
// combining mark and bytes that are not UTF-8.
var pieces = []string{
	"\t", "\n", "\v", "\f", "\r", " ", "@", ".", "..", "-", "a", "Z", "z", "0", "9", "_", "/", ":",
	"http://", "https://", "HTTP://", "http:/", "https:", "http", "s", "x.y", "@a.b", "a@b.c",
	"\x00", "\x7f", "\x85", "\u0085", "\u00a0", "\u2028", "\u200b", "\ufeff", "\u3000",
	"é", "e\u0301", "İ", "ς", "Σ", "ß", "K", "\u212a", "\xff", "\xc3", "\xe2\x80",
	"\u0301", "\u0323", "\u0344", "\u0bbe", "\U0001d165", strings.Repeat("\u0301", 6), strings.Repeat("\u0323", 7),
}

// randomText joins up to eight pieces.
func randomText(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(9) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// fastChecksAgree fails unless every fast path answers s as its regexp (or,
// for emailKey, its Unicode path) does.
func fastChecksAgree(t *testing.T, s string) {
	require.Equal(t, notBlank.MatchString(s), hasNonBlank(s), "hasNonBlank(%q)", s)
	require.Equal(t, emailShape.MatchString(s), emailShaped(s), "emailShaped(%q)", s)
	require.Equal(t, websiteShape.MatchString(s), websiteShaped(s), "websiteShaped(%q)", s)
	require.Equal(t, tagShape.MatchString(s), tagShaped(s), "tagShaped(%q)", s)
	require.Equal(t, emailKeyUnicode(s), emailKey(s), "emailKey(%q)", s)
	require.Equal(t, longMarkRun.MatchString(s), markRunTooLong(s), "markRunTooLong(%q)", s)
}

// TestFastChecksAgree: the ASCII fast paths of the shape checks and of
// emailKey give exactly the verdicts and keys of the regexps and of the
// Unicode path, on adversarial texts and on random joins of their pieces.
func TestFastChecksAgree(t *testing.T) {
	t.Parallel()
	cases := []string{
		"", " ", "a", "a@b.c", "@b.c", "a@.c", "a@b.", "a@bc", "a@b..", "a@.b.", "a@@b.c", "a@b@c.d", "a b@c.d",
		"a@b.c ", "a\t@b.c", "A@B.C", "Mixed.Case@Example.COM", "a@b.c.d", "a.b@c", "a@b.c\n", "\x00@b.c",
		"http://", "https://", "http://x", "https://x", "https:// x", "http://x y", "httpx://y", "HTTP://x",
		"ftp://x", "http://\x00", "a", "-a", "a-", "0", strings.Repeat("a", 50), strings.Repeat("a", 51),
		"ab_c", "Ab", "a\u00e9", "\u00a0", "\u0085x", "a@b.c\u00a0", "İ@b.c", "ς@σ.c", "\xff", "a@b.\xff",
		strings.Repeat(" ", 300), strings.Repeat("\u3000", 3),
		strings.Repeat("\u0301", 13), strings.Repeat("\u0301", 14), "a" + strings.Repeat("\u0301\u0323", 7) + "b",
		strings.Repeat("\u0301", 13) + "x" + strings.Repeat("\u0301", 13), strings.Repeat("\U0001d165", 14),
		strings.Repeat("\u1161", 14), strings.Repeat("\u034f", 14), "\u0300" + strings.Repeat("\u036f", 13), "\u02ff" + strings.Repeat("\u0370", 14),
	}
	for _, s := range cases {
		fastChecksAgree(t, s)
	}
	r := rand.New(rand.NewPCG(11, 12))
	for range 200_000 {
		fastChecksAgree(t, randomText(r))
	}
}

// FuzzFastChecksAgree looks for a text where a fast path and its regexp
// (or emailKey's Unicode path) disagree.
func FuzzFastChecksAgree(f *testing.F) {
	for _, p := range pieces {
		f.Add(p)
		f.Add("a" + p + "@b" + p + ".c")
		f.Add("https://" + p)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fastChecksAgree(t, s)
	})
}
