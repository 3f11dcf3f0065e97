package repo

import (
	"context"
	"fmt"
	"sync/atomic"
)

// server is what a Repo learned of its database, asked once on first need
// and shared with the Repos of its transactions.
type server struct {
	citus atomic.Int32 // 0: not asked yet; 1: plain PostgreSQL; 2: Citus
}

// onCitus says whether the database has the citus extension. Writes of rows
// with different distribution keys take a shape of their own there
// (RegisterUser, AddAddress): Citus routes a statement by one key, and runs a
// chain of write CTEs step by step, sending each step's rows to every node.
// The first call costs a round trip; the answer is kept.
func (r *Repo) onCitus(ctx context.Context) (bool, error) {
	switch r.server.citus.Load() {
	case 1:
		return false, nil
	case 2:
		return true, nil
	}
	citus, err := r.queries().HasCitus(ctx)
	if err != nil {
		return false, fmt.Errorf("is the database on Citus: %w", dbError(ctx, err))
	}
	answer := int32(1)
	if citus {
		answer = 2
	}
	r.server.citus.Store(answer)
	return citus, nil
}
