// Package db embeds the goose migrations in db/schema, so that the binaries
// that migrate (cmd/migrate, cmd/seed, the tests) carry the schema with them.
package db

import (
	"embed"
	"io/fs"
)

//go:embed schema/*.sql
var schema embed.FS

// Migrations returns the migration files, named 00001_create_users.sql and on,
// at the root of the returned file system.
func Migrations() fs.FS {
	sub, err := fs.Sub(schema, "schema")
	if err != nil {
		panic(err) // unreachable: "schema" is a valid path embedded above
	}
	return sub
}

// UserImportsTable is the statement that creates the scratch table of a bulk
// upsert, for the transaction that runs it. sqlc reads the same file.
//
//go:embed staging/user_imports.sql
var UserImportsTable string
