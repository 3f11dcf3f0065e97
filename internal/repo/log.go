package repo

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
)

// LogOptions shape the query log of PoolConfig.Logger.
type LogOptions struct {
	// SlowQuery, if positive, logs statements that take at least this long
	// at Warn level; others are logged at Debug.
	SlowQuery time.Duration
	// Args logs the arguments of each statement. Off by default: arguments
	// are user data, and may be secrets.
	Args bool
}

// queryLogger is a pgx tracer that logs each statement with log/slog: the
// sqlc query name, duration, rows and error. Failed statements log at Warn.
type queryLogger struct {
	log  *slog.Logger
	opts LogOptions
}

type traceKey struct{}

type traceStart struct {
	at   time.Time
	name string
	args []any
}

func (l *queryLogger) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, traceKey{}, traceStart{at: time.Now(), name: queryName(data.SQL), args: data.Args})
}

func (l *queryLogger) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	l.end(ctx, "query", data.CommandTag.RowsAffected(), data.Err)
}

func (l *queryLogger) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	return context.WithValue(ctx, traceKey{}, traceStart{at: time.Now(), name: "COPY " + data.TableName.Sanitize()})
}

func (l *queryLogger) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	l.end(ctx, "copy", data.CommandTag.RowsAffected(), data.Err)
}

// A batch's statements (pipelined reads) are logged one by one, each with
// the time from the batch's sending to its result.

func (l *queryLogger) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return context.WithValue(ctx, traceKey{}, traceStart{at: time.Now()})
}

func (l *queryLogger) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	if start, ok := ctx.Value(traceKey{}).(traceStart); ok {
		ctx = context.WithValue(ctx, traceKey{}, traceStart{at: start.at, name: queryName(data.SQL), args: data.Args})
		l.end(ctx, "query", data.CommandTag.RowsAffected(), data.Err)
	}
}

func (l *queryLogger) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (l *queryLogger) end(ctx context.Context, msg string, rows int64, err error) {
	start, ok := ctx.Value(traceKey{}).(traceStart)
	if !ok {
		return
	}
	took := time.Since(start.at)
	level := slog.LevelDebug
	if l.opts.SlowQuery > 0 && took >= l.opts.SlowQuery {
		level, msg = slog.LevelWarn, "slow "+msg
	}
	if err != nil {
		level = slog.LevelWarn
	}
	if !l.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.String("name", start.name), slog.Duration("duration", took), slog.Int64("rows", rows)}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	if l.opts.Args {
		attrs = append(attrs, slog.Any("args", start.args))
	}
	l.log.LogAttrs(ctx, level, msg, attrs...)
}

// queryName is the sqlc name of a statement ("-- name: GetUser :one"), a
// keyset list's ("-- keyset: users": "keyset users"), or else its first
// words (ALTER TABLE users ADD, SELECT), for a log line and a span's name.
func queryName(sql string) string {
	if rest, ok := strings.CutPrefix(sql, "-- name: "); ok {
		name, _, _ := strings.Cut(rest, " ")
		return name
	}
	if rest, ok := strings.CutPrefix(sql, "-- keyset: "); ok {
		name, _, _ := strings.Cut(rest, "\n")
		return "keyset " + name
	}
	// Up to 4 words, stopping before anything but a name or keyword ($1,
	// a literal, a parenthesis) and after a list's first item.
	var words []string
	for _, w := range strings.Fields(sql) {
		if len(words) == 4 || !(w[0] == '_' || unicode.IsLetter(rune(w[0]))) {
			break
		}
		trimmed := strings.TrimRight(w, ",;")
		words = append(words, trimmed)
		if trimmed != w {
			break
		}
	}
	return strings.Join(words, " ")
}
