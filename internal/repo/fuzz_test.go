package repo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// The fuzz targets feed hostile input to everything that reaches SQL or
// validation. Each input is stored verbatim, or refused with ErrInvalid (or
// ErrConflict for a taken email), never another error, never a panic.
// `go test` runs their seed corpus (testdata/fuzz); `go test -fuzz=FuzzX`
// explores further.

func expected(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, repo.ErrInvalid) && !errors.Is(err, repo.ErrConflict) {
		t.Fatalf("unexpected error: %v", err)
	}
}

func FuzzRegisterUser(f *testing.F) {
	for _, seed := range []struct {
		name, email string
		age         int32
	}{
		{"Alice", "alice@example.com", 30},
		{"Robert'); DROP TABLE users;--", "bobby@tables.example", 10},
		{"Nul\x00Byte", "nul@example.com", 1},
		{"\xff\xfe not UTF-8", "bad\xff@example.com", 2},
		{"Ünïcødé 名前", "ünï@exämple.com", 3},
		{strings.Repeat("n", 201), strings.Repeat("e", 250) + "@x.io", 4},
		{"  ", "@", -1},
	} {
		f.Add(seed.name, seed.email, seed.age)
	}
	r := repo.New(pgtest.NewPool(f))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, name, email string, age int32) {
		u, err := r.RegisterUser(ctx, repo.NewUser{Name: name, Age: age}, email)
		expected(t, err)
		if err != nil {
			return
		}
		got, err := r.GetUserWithAddresses(ctx, u.ID, repo.SelectIn)
		require.NoError(t, err)
		require.Equal(t, name, got.Name, "stored verbatim")
		require.Equal(t, email, got.Addresses[0].Email, "stored verbatim")
		require.Equal(t, age, got.Age)
	})
}

func FuzzListUsers(f *testing.F) {
	f.Add("age", "", 10, int32(0), int32(150))
	f.Add("name; DROP TABLE users", "", 1, int32(5), int32(1))
	f.Add("id", "eyJvIjoiaWQiLCJpZCI6MX0", 2, int32(-5), int32(500))
	f.Add("age", "eyJvIjoiYWdlIiwiaWQiOjEsImFnZSI6MTAwMDAwMDAwMDB9", 1001, int32(0), int32(0))
	f.Add("", "!!!", -3, int32(0), int32(0))
	pool := pgtest.NewPool(f)
	r := repo.New(pool)
	ctx := context.Background()
	for _, n := range []string{"Ann", "Bob", "Cy"} {
		_, err := r.CreateUser(ctx, repo.NewUser{Name: n, Age: 20})
		require.NoError(f, err)
	}
	f.Fuzz(func(t *testing.T, order, cursor string, limit int, minAge, maxAge int32) {
		q := repo.UserQuery{OrderBy: repo.UserOrder(order), After: cursor, Limit: limit, MinAge: &minAge, MaxAge: &maxAge}
		_, err := r.ListUsers(ctx, q)
		expected(t, err)
		_, err = r.ListUsersWithAddresses(ctx, q, repo.Joined)
		expected(t, err)
		_, err = r.ListPosts(ctx, repo.PostQuery{After: cursor, Limit: limit}, repo.SelectIn)
		expected(t, err)
	})
	var n int
	require.NoError(f, pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n))
	require.Equal(f, 3, n, "no input changed the table")
}

func FuzzTagPost(f *testing.F) {
	for _, tag := range []string{"go", " Go ", "how-to", "-x", "a b", "名前", "x\x00", strings.Repeat("t", 51), "DROP TABLE tags"} {
		f.Add(tag)
	}
	r := repo.New(pgtest.NewPool(f))
	ctx := context.Background()
	u, err := r.CreateUser(ctx, repo.NewUser{Name: "Tagger", Age: 30})
	require.NoError(f, err)
	p, err := r.CreatePost(ctx, repo.NewPost{UserID: u.ID, Title: "Tagged"})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, name string) {
		tags, err := r.TagPost(ctx, p.ID, name)
		expected(t, err)
		if err == nil {
			require.Equal(t, strings.ToLower(strings.TrimSpace(name)), tags[0].Name)
		}
	})
}
