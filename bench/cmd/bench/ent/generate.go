// Package ent is ent's code for the benchmark's ent peer, generated from
// ./schema by `go generate` (in bench/).
package ent

//go:generate go run -mod=mod entgo.io/ent/cmd/ent generate ./schema
