package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// parse parses args with both connection flags, the environment env.
func parse(t *testing.T, env map[string]string, args ...string) (database, migrate, stderr string, err error) {
	t.Helper()
	var out bytes.Buffer
	f := New(Spec{Name: "cmd", Usage: "usage: cmd [flags]\n", Dash: "--"}, &out)
	f.getenv = func(k string) string { return env[k] }
	db, mig := f.DatabaseURL("database to use"), f.MigrateURL()
	err = f.Parse(args)
	return *db, *mig, out.String(), err
}

func TestConnectionFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{DatabaseURLEnv: "postgres://env/app", MigrateURLEnv: "postgres://env/owner"}
	for name, tc := range map[string]struct {
		env               map[string]string
		args              []string
		database, migrate string
	}{
		"EnvFallback":           {env, nil, "postgres://env/app", "postgres://env/owner"},
		"FlagOverEnv":           {env, []string{"--database-url", "postgres://flag/app", "-migrate-url", "postgres://flag/owner"}, "postgres://flag/app", "postgres://flag/owner"},
		"MigrateFromEnvNotFlag": {env, []string{"--database-url", "postgres://flag/app"}, "postgres://flag/app", "postgres://env/owner"},
		"MigrateFromDatabaseFlag": {map[string]string{DatabaseURLEnv: "postgres://env/app"}, []string{"--database-url", "postgres://flag/app"},
			"postgres://flag/app", "postgres://flag/app"},
		"MigrateFromDatabaseEnv": {map[string]string{DatabaseURLEnv: "postgres://env/app"}, nil, "postgres://env/app", "postgres://env/app"},
		"Neither":                {nil, nil, "", ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			database, migrate, stderr, err := parse(t, tc.env, tc.args...)
			require.NoError(t, err)
			require.Empty(t, stderr)
			require.Equal(t, tc.database, database)
			require.Equal(t, tc.migrate, migrate)
		})
	}
}

// TestOSEnvironment: without an injected getenv, the fallback is the
// process's environment.
func TestOSEnvironment(t *testing.T) {
	t.Setenv(DatabaseURLEnv, "postgres://os/app")
	t.Setenv(MigrateURLEnv, "")
	f := New(Spec{Name: "cmd"}, &bytes.Buffer{})
	db, mig := f.DatabaseURL("database"), f.MigrateURL()
	require.NoError(t, f.Parse(nil))
	require.Equal(t, "postgres://os/app", *db)
	require.Equal(t, "postgres://os/app", *mig)
}

func TestBadCommandLine(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		args []string
		code int
		line string
	}{
		"ErrUnknownFlag":  {[]string{"--nope"}, 2, "cmd: flag provided but not defined: -nope (cmd --help lists the flags)\n"},
		"ErrMissingValue": {[]string{"--database-url"}, 2, "cmd: flag needs an argument: -database-url (cmd --help lists the flags)\n"},
		"ErrArgument":     {[]string{"extra"}, 2, "cmd: unexpected argument \"extra\"\n"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			f := New(Spec{Name: "cmd", Usage: "usage: cmd [flags]\n"}, &out)
			f.DatabaseURL("database")
			err := f.Parse(tc.args)
			require.Error(t, err)
			require.Empty(t, out.String(), "Parse prints nothing but the help")
			require.Equal(t, tc.code, f.Fail(err))
			require.Equal(t, tc.line, out.String(), "one line, no usage")
		})
	}
	t.Run("Help", func(t *testing.T) {
		t.Parallel()
		for _, arg := range []string{"-h", "--help"} {
			_, _, stderr, err := parse(t, nil, arg)
			require.ErrorIs(t, err, flag.ErrHelp)
			require.Contains(t, stderr, "usage: cmd [flags]\n")
			require.Contains(t, stderr, "database to use (default $DATABASE_URL)")
			require.Contains(t, stderr, "(default $MIGRATE_URL, else --database-url)")
			require.Equal(t, 0, Fail(&bytes.Buffer{}, "cmd", err))
		}
	})
	t.Run("Args", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		f := New(Spec{Name: "cmd", Usage: "usage: cmd up|down\n", Args: true}, &out)
		require.NoError(t, f.Parse([]string{"sideways"}))
		require.Equal(t, []string{"sideways"}, f.Args())
		require.Equal(t, 2, f.UsageError())
		require.Equal(t, "usage: cmd up|down\n", out.String())
	})
	t.Run("AtLeast", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			args []string
			err  string
		}{
			{nil, ""},
			{[]string{"--users", "0", "--batch-size", "1"}, ""},
			{[]string{"--users", "-3"}, "--users -3: must be at least 0"},
			{[]string{"--batch-size", "0"}, "--batch-size 0: must be at least 1"},
		} {
			f := New(Spec{Name: "cmd", Dash: "--"}, &bytes.Buffer{})
			f.Int("users", 0, "")
			f.Int("batch-size", 10, "")
			f.AtLeast(0, "users")
			f.AtLeast(1, "batch-size")
			err := f.Parse(tc.args)
			if tc.err == "" {
				require.NoError(t, err, "%q", tc.args)
			} else {
				require.EqualError(t, err, tc.err)
			}
		}
		f := New(Spec{Name: "cmd"}, &bytes.Buffer{})
		f.String("load", "", "")
		require.Panics(t, func() { f.AtLeast(0, "load") }, "only int flags have a least value")
		require.PanicsWithValue(t, "cli: AtLeast of users, not a flag of cmd", func() { f.AtLeast(0, "users") },
			"a name that is no flag says so, not a nil dereference")
	})
	t.Run("ErrNoDatabase", func(t *testing.T) {
		t.Parallel()
		require.EqualError(t, New(Spec{Name: "cmd"}, nil).ErrNoDatabase(), "no database: set DATABASE_URL or pass -database-url")
		require.EqualError(t, New(Spec{Name: "cmd", Dash: "--"}, nil).ErrNoDatabase(), "no database: set DATABASE_URL or pass --database-url")
	})
}

// TestWatch: the first signal cancels the context and is recorded, and the
// watch stops; an exit code becomes the shell's.
func TestWatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		signal  os.Signal
		failed  int
		success int
	}{{syscall.SIGINT, 130, 0}, {syscall.SIGTERM, 143, 0}} {
		t.Run(tc.signal.String(), func(t *testing.T) {
			t.Parallel()
			ch := make(chan os.Signal, 1)
			stopped := make(chan struct{})
			ctx, s := watch(context.Background(), ch, func() { close(stopped) })
			require.NoError(t, ctx.Err())
			require.Nil(t, s.Signal())
			require.Equal(t, 1, s.ExitCode(1), "no signal: the code as it is")

			ch <- tc.signal
			<-ctx.Done()
			require.Equal(t, tc.signal, s.Signal(), "recorded before the context is done")
			require.Equal(t, tc.failed, s.ExitCode(1))
			require.Equal(t, tc.success, s.ExitCode(0), "a command that finished anyway succeeded")
			select {
			case <-stopped:
			case <-time.After(10 * time.Second):
				t.Fatal("the watch did not stop after the signal")
			}
		})
	}
	t.Run("ParentDone", func(t *testing.T) {
		t.Parallel()
		parent, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		ctx, s := watch(parent, make(chan os.Signal), func() { close(stopped) })
		cancel()
		<-ctx.Done()
		<-stopped
		require.Nil(t, s.Signal())
		require.Equal(t, 1, s.ExitCode(1))
	})
}

// TestWithSignals sends SIGTERM to this process with WithSignals in place:
// the context is cancelled and the signal recorded. Not parallel: the
// signal is the process's.
func TestWithSignals(t *testing.T) {
	ctx, s := WithSignals(t.Context())
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
	require.Equal(t, syscall.SIGTERM, s.Signal())
	require.Equal(t, 143, s.ExitCode(1))
}
