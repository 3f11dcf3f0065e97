package repo

import (
	"cmp"
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing (PoolConfig.TracerProvider): a pgx tracer makes a span of every
// statement, batch, COPY and connect of a pool's connections, and the
// transaction helpers a span of every transaction, parent of its statements.
// Spans carry names and the semantic conventions' database attributes, never
// a statement's arguments, nor an error's message (the server's may quote a
// value): errors are told by their sentinel and SQLSTATE.
//
// Not exaring/otelpgx: it names spans by SQL verb (SELECT) where ours are the
// sqlc names, makes a batch's statements spans of their own without their
// timing, knows nothing of our sentinels, and cannot see the initial load's
// COPYs, which go to pgconn directly.

// instrumentation names the tracer and meter, as OpenTelemetry asks.
const instrumentation = "github.com/inkwell-dev/inkwell/internal/repo"

// rowsKey is the rows a statement returned or changed (its command tag's
// count), and a COPY's rows; otelpgx's name for it.
const rowsKey = attribute.Key("pgx.rows_affected")

// telemetry is a pool's tracer and the attributes every span of it carries.
type telemetry struct {
	tracer trace.Tracer
	attrs  []attribute.KeyValue
}

func newTelemetry(tp trace.TracerProvider, cc *pgx.ConnConfig) *telemetry {
	return &telemetry{
		tracer: tp.Tracer(instrumentation),
		attrs: []attribute.KeyValue{
			semconv.DBSystemNamePostgreSQL,
			semconv.DBNamespace(cc.Database),
			semconv.ServerAddress(cc.Host),
			semconv.ServerPort(int(cc.Port)),
		},
	}
}

// start begins a client span named name, a child of ctx's span.
func (t *telemetry) start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(t.attrs...), trace.WithAttributes(attrs...))
}

// endSpan ends span, with the rows of tag, or err's kind.
func endSpan(ctx context.Context, span trace.Span, tag pgconn.CommandTag, err error) {
	if err != nil {
		spanFailed(ctx, span, err)
	} else {
		span.SetAttributes(rowsKey.Int64(tag.RowsAffected()))
	}
	span.End()
}

// spanFailed marks span failed with err's kind (error.type): its sentinel's
// name, the context's error, or else the server's SQLSTATE; never the
// message.
func spanFailed(ctx context.Context, span trace.Span, err error) {
	kind := errorKind(ctx, err)
	attrs := []attribute.KeyValue{semconv.ErrorTypeKey.String(kind)}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		attrs = append(attrs, semconv.DBResponseStatusCode(pgErr.Code))
	}
	span.SetAttributes(attrs...)
	span.SetStatus(codes.Error, kind)
}

// sentinels are the errors a span's error.type names, the first that
// matches: those that come with another before it (ErrCommitUnknown with
// ErrUnavailable, ErrLoadRefused with ErrNotEmpty). TestSentinelsNamed keeps
// it in step with errors.go.
var sentinels = []struct {
	name string
	err  error
}{
	{"ErrCommitUnknown", ErrCommitUnknown}, {"ErrLoadRefused", ErrLoadRefused},
	{"ErrNotFound", ErrNotFound}, {"ErrConflict", ErrConflict}, {"ErrInvalid", ErrInvalid},
	{"ErrSerialization", ErrSerialization}, {"ErrTxDone", ErrTxDone}, {"ErrTxAborted", ErrTxAborted},
	{"ErrTimeout", ErrTimeout}, {"ErrReadOnly", ErrReadOnly}, {"ErrPermission", ErrPermission},
	{"ErrNotEmpty", ErrNotEmpty}, {"ErrClosed", ErrClosed}, {"ErrUnavailable", ErrUnavailable},
}

// errorKind names err's class: a sentinel, as dbError maps it (a driver's
// error) or as it is (ours); context.Canceled or context.DeadlineExceeded;
// a server's SQLSTATE that maps to none; else "_OTHER", as the semantic
// conventions say.
func errorKind(ctx context.Context, err error) string {
	err = dbError(ctx, err)
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, context.Canceled):
		return "context.Canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "context.DeadlineExceeded"
	case errors.As(err, &pgErr):
		return "SQLSTATE " + pgErr.Code
	}
	return "_OTHER"
}

// statementAttrs are a statement's own attributes: its name (the span's, as
// queryName gives it) as db.query.summary, and its first SQL word as
// db.operation.name.
func statementAttrs(name, sql string) []attribute.KeyValue {
	verb, _ := nextWord(sql)
	return []attribute.KeyValue{semconv.DBQuerySummary(name), semconv.DBOperationName(strings.ToUpper(verb))}
}

// spanTracer is the pgx tracer of PoolConfig.TracerProvider.
type spanTracer struct{ tel *telemetry }

// stmtKey holds a statement's SQL from its start to its end, where its error
// is classified with it (a foreign key violation's kind depends on it).
type stmtKey struct{}

func (s *spanTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	name := queryName(data.SQL)
	ctx, _ = s.tel.start(ctx, name, statementAttrs(name, data.SQL)...)
	return context.WithValue(ctx, stmtKey{}, data.SQL)
}

func (s *spanTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	sql, _ := ctx.Value(stmtKey{}).(string)
	endSpan(ctx, trace.SpanFromContext(ctx), data.CommandTag, withStatement(sql, data.Err))
}

// A batch (a pipeline, a transaction's BEGIN with its first statement) is
// one span; its statements are its children, each from the moment pgx began
// reading its result to the end of it.

func (s *spanTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	size := 0
	if data.Batch != nil {
		size = data.Batch.Len()
	}
	ctx, _ = s.tel.start(ctx, "BATCH", semconv.DBOperationName("BATCH"), semconv.DBOperationBatchSize(size))
	return ctx
}

func (s *spanTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	name := queryName(data.SQL)
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(s.tel.attrs...), trace.WithAttributes(statementAttrs(name, data.SQL)...)}
	if !data.ReadStartTime.IsZero() {
		opts = append(opts, trace.WithTimestamp(data.ReadStartTime))
	}
	_, span := s.tel.tracer.Start(ctx, name, opts...)
	endSpan(ctx, span, data.CommandTag, withStatement(data.SQL, data.Err))
}

func (s *spanTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	endSpan(ctx, trace.SpanFromContext(ctx), pgconn.CommandTag{}, data.Err)
}

func (s *spanTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	ctx, _ = s.tel.copySpan(ctx, strings.Join(data.TableName, "."))
	return ctx
}

func (s *spanTracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	endSpan(ctx, trace.SpanFromContext(ctx), data.CommandTag, data.Err)
}

func (s *spanTracer) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	ctx, _ = s.tel.start(ctx, "connect")
	return ctx
}

func (s *spanTracer) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	endSpan(ctx, trace.SpanFromContext(ctx), pgconn.CommandTag{}, data.Err)
}

// copySpan begins a COPY's span: "COPY users", its rows set at its end.
func (t *telemetry) copySpan(ctx context.Context, table string) (context.Context, trace.Span) {
	return t.start(ctx, "COPY "+table, semconv.DBOperationName("COPY"), semconv.DBCollectionName(table))
}

// tracing returns the pgx tracer of a pool's connections: the query log,
// spans, both, or none (nil: nothing is called per statement).
func tracing(cfg PoolConfig, cc *pgx.ConnConfig) pgx.QueryTracer {
	var tracers []pgx.QueryTracer
	if cfg.Logger != nil {
		tracers = append(tracers, &queryLogger{log: cfg.Logger, opts: cfg.Log})
	}
	if cfg.TracerProvider != nil {
		tracers = append(tracers, &spanTracer{tel: newTelemetry(cfg.TracerProvider, cc)})
	}
	switch len(tracers) {
	case 0:
		return nil
	case 1:
		return tracers[0]
	}
	return multitracer.New(tracers...)
}

// telemetryOf is the telemetry of pool's tracer, nil when it has none: a
// Repo on a pool OpenPool traced makes spans of its transactions too.
func telemetryOf(pool *pgxpool.Pool) *telemetry {
	switch t := pool.Config().ConnConfig.Tracer.(type) {
	case *spanTracer:
		return t.tel
	case *multitracer.Tracer:
		for _, q := range t.QueryTracers {
			if s, ok := q.(*spanTracer); ok {
				return s.tel
			}
		}
	}
	return nil
}

// txSpan is the span of a transaction or savepoint, the parent of the
// statements sent in it: they run with their caller's context, which does
// not hold it. Zero when not traced.
type txSpan struct {
	tel  *telemetry
	span trace.Span
}

// spanned returns the txSpan of ctx's span, begun by a transaction helper
// with tel; zero when tel is nil.
func spanned(ctx context.Context, tel *telemetry) txSpan {
	if tel == nil {
		return txSpan{}
	}
	return txSpan{tel: tel, span: trace.SpanFromContext(ctx)}
}

// parentKey marks a context whose span a savepoint set: the transaction
// under it leaves it as it is.
type parentKey struct{}

// context is ctx with the span as its statements' parent; a savepoint's
// (inner) wins over its transaction's.
func (t txSpan) context(ctx context.Context) context.Context {
	if t.span == nil || ctx.Value(parentKey{}) != nil {
		return ctx
	}
	return trace.ContextWithSpan(ctx, t.span)
}

// innerContext is context for a savepoint, whose statements go through its
// transaction.
func (t txSpan) innerContext(ctx context.Context) context.Context {
	if t.span == nil {
		return ctx
	}
	return context.WithValue(trace.ContextWithSpan(ctx, t.span), parentKey{}, true)
}

// txTraced is a transaction of ours (lazyTx, savepointTx): its span.
type txTraced interface{ traced() txSpan }

// tracedCopy begins the span of a COPY sent on tx's connection directly
// (pgconn's CopyFrom, which pgx's tracer does not see); done ends it. Both
// do nothing when tx is not traced.
func tracedCopy(ctx context.Context, tx pgx.Tx, table string) (context.Context, func(tag pgconn.CommandTag, err error)) {
	t, _ := tx.(txTraced)
	if t == nil || t.traced().span == nil {
		return ctx, func(pgconn.CommandTag, error) {}
	}
	s := t.traced()
	ctx, span := s.tel.copySpan(s.context(ctx), table)
	return ctx, func(tag pgconn.CommandTag, err error) { endSpan(ctx, span, tag, err) }
}

// txAttrs describe a transaction's options on its span.
func txAttrs(o pgx.TxOptions) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("inkwell.tx.isolation", cmp.Or(string(o.IsoLevel), "default")),
		attribute.Bool("inkwell.tx.read_only", o.AccessMode == pgx.ReadOnly),
	}
}

// attemptsAttr is how many times InTx ran its function.
func attemptsAttr(n int) attribute.KeyValue {
	return attribute.Key("inkwell.tx.attempts").Int(n)
}
