package repo

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// attach takes the rows of a select-in load as its statement orders them,
// by their parent's key; rows in another order are refused, not attached to
// the wrong parents or lost.
func TestAttach(t *testing.T) {
	type row struct{ parent, id int64 }
	key := func(r row) int64 { return r.parent }
	conv := func(r row) Address { return Address{ID: r.id, UserID: r.parent} }
	users := []User{{ID: 3}, {ID: 1}, {ID: 2}} // the page's order, not the key's

	rows := []row{{1, 10}, {1, 11}, {3, 30}, {4, 40}} // 2 has none, 4 is no parent given
	require.NoError(t, attach(userAddresses, users, rows, key, conv))
	require.Equal(t, []Address{{ID: 30, UserID: 3}}, users[0].Addresses)
	require.Equal(t, []Address{{ID: 10, UserID: 1}, {ID: 11, UserID: 1}}, users[1].Addresses)
	require.NotNil(t, users[2].Addresses)
	require.Empty(t, users[2].Addresses)

	err := attach(userAddresses, users, []row{{3, 30}, {1, 10}}, key, conv)
	require.ErrorContains(t, err, "not ordered by their parent's key")
}
