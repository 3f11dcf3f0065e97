package repo

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseLSN(t *testing.T) {
	t.Parallel()
	got, err := parseLSN("16/B374D848")
	require.NoError(t, err)
	require.Equal(t, uint64(0x16_B374D848), got)
	for _, bad := range []string{"", "16", "x/1", "1/x", "1/2/3", "100000000/0"} {
		_, err := parseLSN(bad)
		require.Error(t, err, bad)
	}
}

func TestWALEnd(t *testing.T) {
	t.Parallel()
	require.Equal(t, uint64(0x3_00002000), walEnd(0x3_00002018), "after a page header: the page's start")
	require.Equal(t, uint64(0x3_01000000), walEnd(0x3_01000028), "after a segment's long header")
	require.Equal(t, uint64(0x3_00002100), walEnd(0x3_00002100), "inside a page: as it is")
}
