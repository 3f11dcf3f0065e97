package repo

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"weak"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Pool metrics (PoolConfig.MeterProvider): pgxpool.Stat, read when the
// MeterProvider collects, as observable instruments. The names are
// otelpgx's (its RecordStats), so that dashboards made for it read them.

// poolInstrument is one figure of pgxpool.Stat.
type poolInstrument struct {
	name, unit, description string
	counter                 bool // only grows (a sum); else it goes up and down
	value                   func(s *pgxpool.Stat) int64
}

var poolInstruments = []poolInstrument{
	{"pgxpool.acquired_connections", "{connection}", "Connections handed out now", false,
		func(s *pgxpool.Stat) int64 { return int64(s.AcquiredConns()) }},
	{"pgxpool.idle_connections", "{connection}", "Connections idle now", false,
		func(s *pgxpool.Stat) int64 { return int64(s.IdleConns()) }},
	{"pgxpool.total_connections", "{connection}", "Connections open or being opened now: acquired, idle and constructing", false,
		func(s *pgxpool.Stat) int64 { return int64(s.TotalConns()) }},
	{"pgxpool.max_connections", "{connection}", "Most connections the pool opens", false,
		func(s *pgxpool.Stat) int64 { return int64(s.MaxConns()) }},
	{"pgxpool.acquires", "{acquire}", "Connections handed out so far", true,
		func(s *pgxpool.Stat) int64 { return s.AcquireCount() }},
	{"pgxpool.empty_acquire", "{acquire}", "Acquires that waited: no idle connection (one was released or opened)", true,
		func(s *pgxpool.Stat) int64 { return s.EmptyAcquireCount() }},
	{"pgxpool.canceled_acquires", "{acquire}", "Acquires given up while waiting (context ended)", true,
		func(s *pgxpool.Stat) int64 { return s.CanceledAcquireCount() }},
	{"pgxpool.acquire_duration", "ns", "Time spent acquiring connections, all acquires", true,
		func(s *pgxpool.Stat) int64 { return s.AcquireDuration().Nanoseconds() }},
	{"pgxpool.empty_acquire_wait_time", "ns", "Time the acquires that waited spent waiting", true,
		func(s *pgxpool.Stat) int64 { return s.EmptyAcquireWaitTime().Nanoseconds() }},
	{"pgxpool.new_connections", "{connection}", "Connections opened so far", true,
		func(s *pgxpool.Stat) int64 { return s.NewConnsCount() }},
}

// observePool registers pool's instruments with mp. The callback reads one
// Stat per collection. A MeterProvider usually lives as long as the
// process, a pool may not: the callback holds the pool weakly, and once the
// pool is closed and dropped, the collector frees it and the callback is
// unregistered. (A closed pool still held reports no connections.)
func observePool(mp metric.MeterProvider, pool *pgxpool.Pool, cc *pgx.ConnConfig) error {
	meter := mp.Meter(instrumentation)
	attrs := metric.WithAttributeSet(attribute.NewSet(
		semconv.DBSystemNamePostgreSQL,
		semconv.DBClientConnectionPoolName(cc.Host+":"+strconv.Itoa(int(cc.Port))+"/"+cc.Database),
	))
	observables := make([]metric.Observable, len(poolInstruments))
	for i, in := range poolInstruments {
		unit, description := metric.WithUnit(in.unit), metric.WithDescription(in.description)
		var err error
		if in.counter {
			observables[i], err = meter.Int64ObservableCounter(in.name, unit, description)
		} else {
			observables[i], err = meter.Int64ObservableUpDownCounter(in.name, unit, description)
		}
		if err != nil {
			return fmt.Errorf("instrument %s: %w", in.name, err)
		}
	}
	held := weak.Make(pool)
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		pool := held.Value()
		if pool == nil {
			return nil // freed; the cleanup below unregisters this
		}
		s := pool.Stat()
		for i, in := range poolInstruments {
			o.ObserveInt64(observables[i].(metric.Int64Observable), in.value(s), attrs)
		}
		return nil
	}, observables...)
	if err != nil {
		return err
	}
	runtime.AddCleanup(pool, func(reg metric.Registration) { _ = reg.Unregister() }, reg)
	return nil
}
