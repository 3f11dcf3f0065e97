package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

// TestSeedTrace: --trace prints every span of the run on stderr, one JSON
// object a line, all in the run's one trace, under its "seed" span.
func TestSeedTrace(t *testing.T) {
	t.Parallel()
	code, out, errOut := seedRun(t, "--database-url", pgtest.URL(t), "--trace", "--users", "10", "--seed", "1", "--load", "batched")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, tutorialOutput, out, "spans go to stderr, not stdout")
	type span struct {
		Name        string
		SpanContext struct{ TraceID string }
	}
	var spans []span
	names := map[string]bool{}
	for line := range strings.Lines(errOut) {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var s span
		require.NoError(t, json.Unmarshal([]byte(line), &s), line)
		spans = append(spans, s)
		names[s.Name] = true
	}
	for _, name := range []string{"seed", "InTx", "COPY users", "keyset users", "GetUserByNameWithAddresses"} {
		require.True(t, names[name], "span %q printed among %v", name, names)
	}
	for _, s := range spans {
		require.Equal(t, spans[0].SpanContext.TraceID, s.SpanContext.TraceID, "span %q is in the run's trace", s.Name)
	}
}
