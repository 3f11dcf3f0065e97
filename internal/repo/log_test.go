package repo_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// logBuffer collects JSON log records.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		out = append(out, rec)
	}
	b.buf.Reset()
	return out
}

// registration is the statements of a new Repo's first registration with
// one email: the Repo asks once whether the database is Citus, then
// registers in one statement, or on Citus one per row (in one pipeline).
func registration() []string {
	if pgtest.Citus() {
		return []string{"HasCitus", "begin", "TakenEmailKeys", "CreateUser", "LockNewUserForWrite", "CreateAddressOfNewUser", "CreateEmailOwnerOfNewUser", "COMMIT"}
	}
	return []string{"HasCitus", "RegisterUser"}
}

func TestQueryLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	open := func(opts repo.LogOptions, level slog.Level) (*repo.Repo, *logBuffer) {
		logs := &logBuffer{}
		pool, err := repo.OpenPool(e.ctx, e.pool.Config().ConnString(), repo.PoolConfig{
			Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level})), Log: opts})
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		return repo.New(pool), logs
	}

	t.Run("NamesDurationRowsNoArgs", func(t *testing.T) {
		r, logs := open(repo.LogOptions{}, slog.LevelDebug)
		_, err := r.RegisterUser(e.ctx, repo.NewUser{Name: "Logged", Age: 3}, "secret-address@example.com")
		require.NoError(t, err)
		recs := logs.records(t)
		var names []string
		for _, rec := range recs {
			names = append(names, rec["name"].(string))
			require.Equal(t, "DEBUG", rec["level"])
			require.Contains(t, rec, "duration")
			require.NotContains(t, rec, "args", "arguments are off by default")
		}
		require.Equal(t, registration(), names)
		inserted := recs[slices.IndexFunc(names, func(n string) bool { return n == "RegisterUser" || n == "CreateUser" })]
		require.EqualValues(t, 1, inserted["rows"])
		require.NotContains(t, logsText(recs), "secret-address")
	})

	t.Run("PipelinedStatementsOneByOne", func(t *testing.T) {
		r, logs := open(repo.LogOptions{}, slog.LevelDebug)
		u, err := r.RegisterUser(e.ctx, repo.NewUser{Name: "Piped", Age: 3}, "piped@example.com")
		require.NoError(t, err)
		_, err = r.GetUserWithAddresses(e.ctx, u.ID, repo.SelectIn)
		require.NoError(t, err)
		var names []string
		for _, rec := range logs.records(t) {
			names = append(names, rec["name"].(string))
		}
		// The batch's snapshot transaction shows too.
		require.Equal(t, append(registration(), "begin isolation level repeatable", "GetUser", "ListAddressesByUserIDs", "COMMIT"), names)
	})

	t.Run("Args", func(t *testing.T) {
		r, logs := open(repo.LogOptions{Args: true}, slog.LevelDebug)
		_, err := r.CreateUser(e.ctx, repo.NewUser{Name: "With Args", Age: 4})
		require.NoError(t, err)
		require.Contains(t, logsText(logs.records(t)), "With Args")
	})

	t.Run("SlowAndFailedAtWarn", func(t *testing.T) {
		// A threshold no ordinary statement reaches, even on a loaded machine;
		// the slow statement below sleeps past it.
		const slow = 2 * time.Second
		r, logs := open(repo.LogOptions{SlowQuery: slow}, slog.LevelWarn)
		_, err := r.GetUser(e.ctx, 987654)
		require.ErrorIs(t, err, repo.ErrNotFound, "no rows is not a failed statement")
		_, err = r.CreatePost(e.ctx, repo.NewPost{UserID: 424242, Title: "Orphan"})
		require.ErrorIs(t, err, repo.ErrNotFound)
		_, err = e.pool.Exec(e.ctx, "SELECT 1") // not this pool: not logged
		require.NoError(t, err)
		require.NoError(t, r.InTx(e.ctx, repo.TxOptions{}, func(tx *repo.Repo) error {
			_, err := tx.ListUsers(e.ctx, repo.UserQuery{})
			return err
		}))
		recs := logs.records(t)
		require.Len(t, recs, 1, "only the failed statement: fast ones log at Debug")
		require.Equal(t, "WARN", recs[0]["level"])
		require.Equal(t, "CreatePost", recs[0]["name"])
		require.Contains(t, recs[0]["error"], "posts_user_id_fkey")

		// A statement slower than the threshold, on a pool OpenPool made.
		pool, err := repo.OpenPool(e.ctx, e.pool.Config().ConnString(), repo.PoolConfig{
			Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
			Log:    repo.LogOptions{SlowQuery: slow}})
		require.NoError(t, err)
		defer pool.Close()
		_, err = pool.Exec(e.ctx, "SELECT pg_sleep(2.1)")
		require.NoError(t, err)
		recs = logs.records(t)
		require.Len(t, recs, 1)
		require.Equal(t, "slow query", recs[0]["msg"])
		require.Equal(t, "SELECT pg_sleep(2.1)", recs[0]["name"])
	})
}

func logsText(recs []map[string]any) string {
	b, _ := json.Marshal(recs)
	return string(b)
}

func TestStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.GetUser(e.ctx, 1)
	require.ErrorIs(t, err, repo.ErrNotFound)
	s := e.Stats()
	require.Positive(t, s.Primary.MaxConns)
	require.Positive(t, s.Primary.AcquireCount)
	require.Positive(t, s.Primary.TotalConns)
	require.Zero(t, s.Primary.AcquiredConns)
	require.Empty(t, s.Replicas)
}
