package repo

// DBError is dbError, for the mapping table of errors_test.go.
var DBError = dbError
