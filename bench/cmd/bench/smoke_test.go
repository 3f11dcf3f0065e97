package main

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// Every peer does every operation once, at the smoke sizes, on a throwaway
// server migrated as inkwell is, and each operation's checks hold (the rows
// it must load or write, every address's email_owners row): a migration that
// breaks a peer (a key an ORM's ON CONFLICT no longer matches, a table a
// peer does not write) fails here rather than in make bench.
func TestEveryPeerDoesEveryOperation(t *testing.T) {
	t.Parallel()
	c := pgtest.StartCluster(t, pgtest.Throwaway)
	admin, err := c.URL("postgres")
	require.NoError(t, err)
	admin, err = boundConnect(admin) // as run does
	require.NoError(t, err)
	ctx := t.Context()
	s := &server{admin: admin, poolSize: 2, syncCommit: "off"}
	require.NoError(t, s.prepare(ctx))
	for _, op := range operations(sizesOf(false, true)) {
		for _, p := range peers() {
			t.Run(op.key+"/"+p.name(), func(t *testing.T) {
				t.Parallel() // each run on a database of its own
				m := op.run(ctx, s, p, 0)
				if !errors.Is(m.err, errUnsupported) { // as the report has it: a dash
					require.NoError(t, m.err)
				}
			})
		}
	}
}
