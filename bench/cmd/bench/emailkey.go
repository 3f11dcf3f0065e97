package main

import (
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// emailKey is the schema's email_key(email) (db/schema/00003) in Go, as an
// application on an ORM would write it to fill email_owners' key: NFC, the
// root locale's lower case, final sigma as sigma. The smoke test's check of
// every email_owners row against email_key holds it to the server's.
func emailKey(email string) string {
	return strings.ReplaceAll(cases.Lower(language.Und).String(norm.NFC.String(email)), "ς", "σ")
}
