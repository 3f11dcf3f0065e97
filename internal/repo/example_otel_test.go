package repo_test

import (
	"context"
	"fmt"
	"log"
	"slices"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// Tracing with OpenTelemetry: give OpenPool a TracerProvider (and a
// MeterProvider for the pool's metrics). Each statement is a span named by
// its sqlc query, a child of the caller's span, or of its transaction's.
// In a service the provider exports (OTLP, say); here it keeps the spans.
// The README shows this example.
func ExampleOpenPool_tracing() {
	ctx := context.Background()
	databaseURL := pgtest.ExampleURL() // in your program: your own database URL

	spans := tracetest.NewInMemoryExporter()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer provider.Shutdown(ctx)

	pool, err := repo.OpenPool(ctx, databaseURL, repo.PoolConfig{TracerProvider: provider})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	r := repo.New(pool)

	err = r.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
		u, err := tx.CreateUser(ctx, repo.NewUser{Name: "Hannah", Age: 29})
		if err != nil {
			return err
		}
		_, err = tx.SetProfile(ctx, repo.Profile{UserID: u.ID, Bio: "Writes about databases"})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	printTree(spans.GetSpans())
	// Output:
	// InTx
	//   BATCH
	//     begin read write
	//     CreateUser
	//   UpsertProfile
	//   commit
}

// printTree prints spans as a tree, each under its parent, in the order
// they began; a new connection's span ("connect") is left out.
func printTree(spans tracetest.SpanStubs) {
	slices.SortFunc(spans, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	depth := map[trace.SpanID]int{}
	for _, s := range spans {
		if s.Name == "connect" {
			continue
		}
		d, ok := depth[s.Parent.SpanID()]
		if ok {
			d++
		}
		depth[s.SpanContext.SpanID()] = d
		fmt.Println(strings.Repeat("  ", d) + s.Name)
	}
}
