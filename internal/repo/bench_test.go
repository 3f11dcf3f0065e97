package repo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// Each benchmark runs inkwell and its baseline (hand-written pgx, or the N+1
// loop an ORM's lazy loading does) alternately in the same loop, and reports
// both per-op times and their ratio, so that machine noise hits both alike.

// pair times two functions run alternately b.N times each.
func pair(b *testing.B, baseline, ours func() error) {
	b.Helper()
	var tBase, tOurs time.Duration
	for b.Loop() {
		start := time.Now()
		require.NoError(b, baseline())
		mid := time.Now()
		require.NoError(b, ours())
		tBase += mid.Sub(start)
		tOurs += time.Since(mid)
	}
	b.ReportMetric(float64(tBase.Nanoseconds())/float64(b.N), "baseline-ns/op")
	b.ReportMetric(float64(tOurs.Nanoseconds())/float64(b.N), "inkwell-ns/op")
	b.ReportMetric(float64(tOurs)/float64(tBase), "ratio")
}

func benchEnv(b *testing.B) (*repo.Repo, *pgx.Conn, context.Context) {
	b.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(b)
	conn, err := pgx.Connect(ctx, pool.Config().ConnString())
	require.NoError(b, err)
	b.Cleanup(func() { conn.Close(ctx) })
	return repo.New(pool), conn, ctx
}

// BenchmarkGetUser: a point select by primary key, against pgx QueryRow.
func BenchmarkGetUser(b *testing.B) {
	r, conn, ctx := benchEnv(b)
	u, err := r.CreateUser(ctx, repo.NewUser{Name: "Alice", Age: 30})
	require.NoError(b, err)
	pair(b,
		func() error {
			var got repo.User
			return conn.QueryRow(ctx, "SELECT id, name, age, created_at FROM users WHERE id = $1", u.ID).
				Scan(&got.ID, &got.Name, &got.Age, &got.CreatedAt)
		},
		func() error { _, err := r.GetUser(ctx, u.ID); return err })
}

// BenchmarkBulkCreateUsers: 10,000 users a op with COPY, against pgx CopyFrom.
func BenchmarkBulkCreateUsers(b *testing.B) {
	r, conn, ctx := benchEnv(b)
	users := make([]repo.NewUser, 10_000)
	rows := make([][]any, len(users))
	for i := range users {
		users[i] = repo.NewUser{Name: fmt.Sprintf("User %d", i), Age: int32(i % 100)}
		rows[i] = []any{users[i].Name, users[i].Age}
	}
	pair(b,
		func() error {
			_, err := conn.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"name", "age"}, pgx.CopyFromRows(rows))
			return err
		},
		func() error { _, err := r.BulkCreateUsers(ctx, users); return err })
}

// BenchmarkListUsersWithAddresses: a page of 100 users with 2 addresses each,
// each strategy against the N+1 loop (one query for the page, one per user).
func BenchmarkListUsersWithAddresses(b *testing.B) {
	r, _, ctx := benchEnv(b)
	for i := range 100 {
		_, err := r.RegisterUser(ctx, repo.NewUser{Name: fmt.Sprintf("User %03d", i), Age: int32(i % 90)},
			fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("u%d@work.example", i))
		require.NoError(b, err)
	}
	q := repo.UserQuery{Limit: 100}
	nPlusOne := func() error {
		page, err := r.ListUsers(ctx, q)
		for _, u := range page.Items {
			if err == nil {
				_, err = r.GetUserWithAddresses(ctx, u.ID, repo.SelectIn)
			}
		}
		return err
	}
	for _, s := range []struct {
		name string
		s    repo.Strategy
	}{{"Joined", repo.Joined}, {"SelectIn", repo.SelectIn}} {
		b.Run(s.name, func(b *testing.B) {
			pair(b, nPlusOne, func() error { _, err := r.ListUsersWithAddresses(ctx, q, s.s); return err })
		})
	}
}

// BenchmarkTracing: what tracing costs (PoolConfig.TracerProvider, spans
// recorded by the SDK and dropped: no exporter), against the same calls on a
// pool without it: a point select, and a transaction of two statements.
func BenchmarkTracing(b *testing.B) {
	_, conn, ctx := benchEnv(b)
	url := conn.Config().ConnString()
	open := func(cfg repo.PoolConfig) *repo.Repo {
		pool, err := repo.OpenPool(ctx, url, cfg)
		require.NoError(b, err)
		b.Cleanup(pool.Close)
		return repo.New(pool)
	}
	plain, traced := open(repo.PoolConfig{}), open(repo.PoolConfig{TracerProvider: sdktrace.NewTracerProvider()})
	u, err := plain.CreateUser(ctx, repo.NewUser{Name: "Alice", Age: 30})
	require.NoError(b, err)
	get := func(r *repo.Repo) func() error {
		return func() error { _, err := r.GetUser(ctx, u.ID); return err }
	}
	tx := func(r *repo.Repo) func() error {
		return func() error {
			return r.InTx(ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
				_, err := tx.GetUser(ctx, u.ID)
				if err == nil {
					_, err = tx.GetProfile(ctx, u.ID)
				}
				if errors.Is(err, repo.ErrNotFound) {
					err = nil
				}
				return err
			})
		}
	}
	b.Run("GetUser", func(b *testing.B) { pair(b, get(plain), get(traced)) })
	b.Run("InTx", func(b *testing.B) { pair(b, tx(plain), tx(traced)) })
}
