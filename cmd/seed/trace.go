package main

import (
	"context"
	"fmt"
	"io"

	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// startTracing returns the tracer provider of --trace: every span of the
// run printed on w as it ends, one JSON object a span (OpenTelemetry's
// stdout exporter). stop flushes and ends it.
func startTracing(w io.Writer) (tp trace.TracerProvider, stop func(context.Context) error, err error) {
	exporter, err := stdouttrace.New(stdouttrace.WithWriter(w))
	if err != nil {
		return nil, nil, fmt.Errorf("--trace: %w", err)
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	return provider, provider.Shutdown, nil
}
