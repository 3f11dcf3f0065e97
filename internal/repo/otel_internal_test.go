package repo

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSentinelsNamed: every sentinel of errors.go has its name in
// sentinels (a span's error.type), bound to the error of that name.
func TestSentinelsNamed(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	require.NoError(t, err)
	declared := map[string]string{} // name: errors.New's text
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			if i >= len(spec.Values) {
				break
			}
			call, ok := spec.Values[i].(*ast.CallExpr)
			if !strings.HasPrefix(name.Name, "Err") || !ok || len(call.Args) != 1 {
				continue
			}
			text, err := strconv.Unquote(call.Args[0].(*ast.BasicLit).Value)
			require.NoError(t, err)
			declared[name.Name] = text
		}
		return true
	})
	require.NotEmpty(t, declared)
	named := map[string]string{}
	for _, s := range sentinels {
		named[s.name] = s.err.Error()
	}
	require.Equal(t, declared, named, "sentinels (otel.go) names each sentinel of errors.go, with its own error")
}

// TestOTelAPIOnly: the library depends on OpenTelemetry's API, never on its
// SDK or an exporter: the program that uses it chooses them.
func TestOTelAPIOnly(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	var api int
	for dep := range strings.Lines(string(out)) {
		dep = strings.TrimSpace(dep)
		require.False(t, strings.HasPrefix(dep, "go.opentelemetry.io/otel/sdk") ||
			strings.HasPrefix(dep, "go.opentelemetry.io/otel/exporters"), "internal/repo depends on %s", dep)
		if strings.HasPrefix(dep, "go.opentelemetry.io/otel/trace") {
			api++
		}
	}
	require.NotZero(t, api, "the OpenTelemetry API is among the dependencies")
}
