package repo

import (
	"context"
	"fmt"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// The common methods in one call each: a write of one statement (insert,
// update, delete) and a read of one row. Each keeps the house rules of its
// kind (checked before anything is sent, routed, one round trip, errors
// mapped to the sentinels) and wraps every error with what failed for which
// input: what is a format ("add comment to post %d"), args its values.

// writeOne checks, then runs stmt on the primary (writing) and converts its
// row. check is the first refusal of the input, nil if none:
// cmp.Or(checkA(...), checkB(...)).
func writeOne[R, T any](ctx context.Context, r *Repo, check error, stmt func(q *dbgen.Queries) (R, error),
	conv func(R) T, what string, args ...any) (T, error) {
	err := check
	if err == nil {
		var row R
		if row, err = writing(ctx, r, stmt); err == nil {
			return conv(row), nil
		}
		err = dbError(ctx, err)
	}
	var zero T
	return zero, fmt.Errorf(what+": %w", append(args, err)...)
}

// deleteOne runs stmt, a delete that returns how many rows it deleted, on
// the primary: ErrNotFound if none.
func deleteOne(ctx context.Context, r *Repo, stmt func(q *dbgen.Queries) (int64, error), what string, args ...any) error {
	n, err := writing(ctx, r, stmt)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf(what+": %w", append(args, dbError(ctx, err))...)
	}
	return nil
}

// readOne runs stmt where reads go (reading) and converts its row;
// ErrNotFound if there is none.
func readOne[R, T any](ctx context.Context, r *Repo, stmt func(q *dbgen.Queries) (R, error),
	conv func(R) T, what string, args ...any) (T, error) {
	return reading(ctx, r, func(q *dbgen.Queries) (T, error) {
		row, err := stmt(q)
		if err != nil { // mapped here: reading retries an ErrUnavailable
			var zero T
			return zero, fmt.Errorf(what+": %w", append(args, dbError(ctx, err))...)
		}
		return conv(row), nil
	})
}

// ifSet checks a patch's field if it is set.
func ifSet[T any](v *T, check func(T) error) error {
	if v == nil {
		return nil
	}
	return check(*v)
}
