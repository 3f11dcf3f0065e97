package repo

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// The same rules as the schema's CHECK constraints, checked before any round
// trip so that the error names the field and the value. The schema stays the
// backstop for anyone writing to the tables without us.
const (
	MaxNameLen    = 200  // users_name_length
	MinAge        = 0    // users_age_range
	MaxAge        = 150  // users_age_range
	MaxEmailLen   = 254  // addresses_email_shape
	MaxTitleLen   = 300  // posts_title_length
	MaxRating     = 5.0  // posts_rating_range
	MaxBioLen     = 2000 // profiles_bio_length
	MaxTagNameLen = 50   // tags_name_shape
)

// blankRanges are the characters that count as blank, as [lo, hi] ranges:
// Unicode White_Space and the zero-width format characters U+180E,
// U+200B-U+200D, U+2060 and U+FEFF. A name or title of these alone is blank;
// emails and websites contain none. Go's \s and PostgreSQL's [:space:] both
// differ from this (and [:space:] differs between collations), so the schema's
// CHECKs spell the same list out (migration 00003), and TestChecksSpellBlankRanges
// holds the two texts together.
var blankRanges = [][2]rune{
	{0x09, 0x0d}, {0x20, 0x20}, {0x85, 0x85}, {0xa0, 0xa0}, {0x1680, 0x1680}, {0x180e, 0x180e},
	{0x2000, 0x200d}, {0x2028, 0x2029}, {0x202f, 0x202f}, {0x205f, 0x2060}, {0x3000, 0x3000}, {0xfeff, 0xfeff},
}

// blankClass writes blankRanges as the inside of a bracket expression, each
// code point spelled by esc: Go's regexp and PostgreSQL's differ only there.
func blankClass(esc func(rune) string) string { return rangeClass(blankRanges, esc) }

// goBlank and pgBlank are blankRanges in Go's and PostgreSQL's regex syntax.
var (
	goBlank = blankClass(func(r rune) string { return fmt.Sprintf(`\x{%04x}`, r) })
	pgBlank = blankClass(func(r rune) string { return fmt.Sprintf(`\u%04x`, r) })
)

var (
	notBlank     = regexp.MustCompile(`[^` + goBlank + `]`)                                                // users_name_not_blank, posts_title_not_blank
	emailShape   = regexp.MustCompile(`^[^@` + goBlank + `]+@[^@` + goBlank + `]+\.[^@` + goBlank + `]+$`) // addresses_email_shape
	tagShape     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,49}$`)                                         // tags_name_shape
	websiteShape = regexp.MustCompile(`^https?://[^` + goBlank + `]+$`)                                    // profiles_website_shape
)

// The shape checks below answer exactly as the regexps above (for ASCII
// text without running them, which the profile of an initial load showed
// costs more than the rest of validation): TestFastChecksAgree and
// FuzzFastChecksAgree compare them.

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiBlank is blankRanges' ASCII part: \t to \r and the space.
func asciiBlank(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// hasNonBlank is notBlank.MatchString.
func hasNonBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return notBlank.MatchString(s)
		}
		if !asciiBlank(c) {
			return true
		}
	}
	return false
}

// emailShaped is emailShape.MatchString: one @ with something before it,
// a dot after it with something on both sides, no blank.
func emailShaped(s string) bool {
	if !isASCII(s) {
		return emailShape.MatchString(s)
	}
	at := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case asciiBlank(c):
			return false
		case c == '@' && at >= 0:
			return false
		case c == '@':
			at = i
		}
	}
	if at < 1 {
		return false
	}
	domain := s[at+1:]
	return len(domain) >= 3 && strings.IndexByte(domain[1:len(domain)-1], '.') >= 0
}

// websiteShaped is websiteShape.MatchString.
func websiteShaped(s string) bool {
	if !isASCII(s) {
		return websiteShape.MatchString(s)
	}
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(s, "http://")
	}
	if !ok || rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if asciiBlank(rest[i]) {
			return false
		}
	}
	return true
}

// tagShaped is tagShape.MatchString, for any text: only ASCII can match.
func tagShaped(s string) bool {
	if len(s) < 1 || len(s) > MaxTagNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0) {
			return false
		}
	}
	return true
}

// checkText rejects what PostgreSQL's text type cannot store.
func checkText(field, value string) error {
	if !utf8.ValidString(value) {
		return invalid(field, strings.ToValidUTF8(value, "\uFFFD"), "is not valid UTF-8")
	}
	if strings.ContainsRune(value, 0) {
		return invalid(field, strings.ReplaceAll(value, "\x00", `\x00`), "contains a NUL byte")
	}
	return nil
}

func checkRequired(field, value string, maxLen int) error {
	if err := checkText(field, value); err != nil {
		return err
	}
	if !hasNonBlank(value) {
		return invalid(field, value, "must not be blank")
	}
	if utf8.RuneCountInString(value) > maxLen {
		return invalid(field, value, "is longer than "+strconv.Itoa(maxLen)+" characters")
	}
	return nil
}

var (
	checkName   = requiredText("users.name", "name", MaxNameLen)
	checkAge    = inRange[int32]("users.age", "age", MinAge, MaxAge)
	checkRating = inRange[float64]("posts.rating", "rating", 0, MaxRating)
	checkBio    = optionalText("profiles.bio", "bio", MaxBioLen)
)

func checkEmail(email string) error {
	if err := checkText("email", email); err != nil {
		return err
	}
	if len(email) > MaxEmailLen {
		return invalid("email", email, "is longer than 254 bytes")
	}
	if !emailShaped(email) {
		return invalid("email", email, "must look like name@example.com")
	}
	if isASCII(email) {
		return nil
	}
	for _, r := range email {
		if r >= utf8.RuneSelf && !keyStable(r) {
			return invalid("email", email, fmt.Sprintf("contains U+%04X, which this server and Go may not lower-case or normalize alike", r))
		}
	}
	if markRunTooLong(email) {
		return invalid("email", email, fmt.Sprintf("has more than %d combining marks in a row", maxNonStarterRun))
	}
	return nil
}

// emailKey is the schema's email_key(email) computed in Go: two addresses
// are one mailbox when their keys are equal. NFC first, so that composed and
// decomposed accents are one address; then lower case by the Unicode root
// locale (full mappings: İ becomes i̇), as ICU's lower() does; then final sigma
// as sigma, so that the key needs no context. The stored email stays as given.
// TestEmailKeyMatchesDatabase compares it with the server's on every code point.
func emailKey(email string) string {
	if isASCII(email) {
		// NFC leaves ASCII as it is, and its lower case is A-Z to a-z.
		return asciiLower(email)
	}
	return emailKeyUnicode(email)
}

// emailKeyUnicode is emailKey for any text.
func emailKeyUnicode(email string) string {
	return strings.ReplaceAll(cases.Lower(language.Und).String(norm.NFC.String(email)), "ς", "σ")
}

// newerMarks are the combining marks new in Unicode 15.0. PostgreSQL 15's
// normalize() has Unicode 14.0 tables and treats them as starters, so NFC
// orders them differently from Go (and from ICU 72) next to other marks.
var newerMarks = [][2]rune{{0x10efd, 0x10eff}, {0x11f41, 0x11f42}, {0x1e08f, 0x1e08f}, {0x1e4ec, 0x1e4ef}}

// keyStable reports whether emailKey and the server's email_key agree on r in
// any context: r is assigned in Unicode 15.0 (Go's tables and x/text's; an
// unassigned code point may gain a case mapping in a newer ICU) and is not
// one of newerMarks.
func keyStable(r rune) bool {
	if !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf, unicode.Co) {
		return false
	}
	for _, m := range newerMarks {
		if r >= m[0] && r <= m[1] {
			return false
		}
	}
	return true
}

// normalizeTag lower-cases and trims a tag name, then checks its shape.
func normalizeTag(name string) (string, error) {
	if err := checkText("tag", name); err != nil {
		return "", err
	}
	norm := normalizedTag(name)
	if !tagShaped(norm) {
		return "", invalid("tag", name, "must be 1 to 50 letters, digits or dashes, starting with a letter or digit")
	}
	return norm, nil
}

func normalizedTag(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

func checkWebsite(website *string) error {
	if website == nil {
		return nil
	}
	if err := checkText("website", *website); err != nil {
		return err
	}
	if !websiteShaped(*website) {
		return invalid("website", *website, "must be an http:// or https:// URL")
	}
	return nil
}

// goValidators: a column with a CHECK is validated in Go too: declared with
// requiredText, optionalText or inRange (rules.go), or, for a rule they
// cannot say, by an entry here. Each entry, by "table.column", calls the column's Go check (the check...
// functions above) on a value and returns the value Go would store (tags are
// normalized first) or the error that refuses it. The differential tests of
// checks_test.go (FuzzChecksAgree, TestChecksAgreeOnSpaceLikeCharacters) read
// this map and evaluate the column's CHECKs, from the catalog, on the same
// values: a column of an embedded migration (db/schema) with a CHECK on it
// alone and no entry here fails them, and so does an entry whose column has
// no such CHECK.
var goValidators = map[string]func(v any) (any, error){
	"addresses.email":  func(v any) (any, error) { return v, checkEmail(v.(string)) },
	"posts.title":      func(v any) (any, error) { return v, NewPost{Title: v.(string)}.validate() },
	"tags.name":        func(v any) (any, error) { return normalizeTag(v.(string)) },
	"profiles.website": func(v any) (any, error) { s := v.(string); return v, checkWebsite(&s) },
}

// goOnly names, by "table.column" of goValidators, the values that Go
// refuses and the CHECKs accept, on purpose, and why.
var goOnly = map[string]struct {
	why string
	is  func(v any) bool
}{
	"addresses.email": {
		why: "a code point whose email_key may differ between Go and the server (keyStable): no CHECK can know the server's Unicode tables",
		is: func(v any) bool {
			return strings.ContainsFunc(v.(string), func(r rune) bool { return r >= utf8.RuneSelf && !keyStable(r) })
		},
	},
}
