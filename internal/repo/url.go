package repo

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CheckURL reports whether url is a connection string OpenPool accepts (a
// postgres:// URL or key=value string), without connecting. Commands call it
// before handing a url to anything that might print it.
//
// Errors: ErrInvalid, saying which part is wrong ("invalid port", "malformed
// percent-escape") but quoting no part of url: when a url does not parse,
// nobody can tell for sure where its password ends.
func CheckURL(url string) error {
	if _, err := pgxpool.ParseConfig(url); err != nil {
		return urlError(err)
	}
	return nil
}

// urlError describes a parse failure of a connection string without any of
// the string. pgx's own message quotes the string with the password masked,
// but a malformed string fools the masking (postgres://bob:pa@ss@host:x/db
// shows "bob:xxxxx@ss@host"), and net/url's and strconv's errors quote parts
// of it. So only pgx's description of the problem is kept, and the inner
// error is described by its type, or by its text with quoted parts removed.
func urlError(err error) error {
	what := "cannot parse"
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		// Error() is "cannot parse `<masked string>`: <what>[ (<inner>)]"; the
		// masked string can hold anything, what comes from pgx's source.
		s := pce.Error()
		if inner := errors.Unwrap(pce); inner != nil {
			s = strings.TrimSuffix(s, " ("+inner.Error()+")")
		}
		if i := strings.LastIndex(s, "`: "); i >= 0 {
			what = safeText(s[i+len("`: "):])
		}
	}
	if why := innerURLError(errors.Unwrap(pce)); why != "" && pce != nil {
		what += ": " + why
	}
	return fmt.Errorf("%w: database URL: %s", ErrInvalid, what)
}

func innerURLError(err error) string {
	var urlErr *url.Error
	var escErr url.EscapeError
	var hostErr url.InvalidHostError
	var numErr *strconv.NumError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &escErr):
		return "malformed percent-escape (want %XX, XX hexadecimal)"
	case errors.As(err, &hostErr):
		return "invalid character in host name"
	case errors.As(err, &numErr):
		if errors.Is(numErr, strconv.ErrRange) {
			return "number out of range"
		}
		return "not a number"
	case errors.As(err, &urlErr):
		return safeText(strings.TrimPrefix(urlErr.Err.Error(), "net/url: "))
	}
	return safeText(err.Error())
}

// safeText keeps the part of an error message before any ": " (what
// follows quotes input, as in "unknown channel_binding value: x") and
// replaces each quoted part longer than one character with "…".
func safeText(s string) string {
	s, _, _ = strings.Cut(s, ": ")
	var b strings.Builder
	for {
		start := strings.IndexByte(s, '"')
		if start < 0 {
			b.WriteString(s)
			return strings.TrimSpace(b.String())
		}
		b.WriteString(s[:start])
		quoted, err := strconv.QuotedPrefix(s[start:])
		if err != nil { // an unbalanced quote: drop the rest
			return strings.TrimSpace(b.String())
		}
		if inner, _ := strconv.Unquote(quoted); utf8.RuneCountInString(inner) == 1 && !unicode.IsLetter([]rune(inner)[0]) && !unicode.IsDigit([]rune(inner)[0]) {
			b.WriteString(quoted) // punctuation, as in `missing "=" after`
		} else {
			b.WriteString(`"…"`)
		}
		s = s[start+len(quoted):]
	}
}
