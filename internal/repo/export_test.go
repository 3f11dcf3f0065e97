package repo

import "github.com/inkwell-dev/inkwell/internal/keyset"

// Lists are the keyset lists, for TestListPlans.
func Lists() []*keyset.List { return keysetLists }

// DBError is dbError, for the mapping table of errors_test.go.
var DBError = dbError

// WithPartBytes returns o with an initial load's parts of about n encoded
// bytes instead of partBytes: a test loads few rows in many parts.
func WithPartBytes(o InitialLoadOptions, n int) InitialLoadOptions {
	o.partBytes = n
	return o
}
