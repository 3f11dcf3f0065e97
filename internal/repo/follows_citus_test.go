package repo_test

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// commandLog is what citus.log_remote_commands tells a pool's sessions:
// the commands the coordinator sends the nodes.
type commandLog struct {
	mu     sync.Mutex
	issued []string
}

func (l *commandLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.issued = nil
}

func (l *commandLog) commands() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.issued)
}

// remoteCommandsPool is a test's pool whose sessions log, on Citus, every
// command the coordinator sends the nodes; on one server, nothing.
func remoteCommandsPool(t *testing.T) (*pgxpool.Pool, *commandLog) {
	t.Helper()
	log := &commandLog{}
	pool := pgtest.NewPool(t, func(c *pgxpool.Config) {
		if pgtest.Citus() {
			c.ConnConfig.RuntimeParams["citus.log_remote_commands"] = "on"
			c.ConnConfig.RuntimeParams["client_min_messages"] = "log"
		}
		c.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
			if cmd, ok := strings.CutPrefix(n.Message, "issuing "); ok {
				log.mu.Lock()
				log.issued = append(log.issued, cmd)
				log.mu.Unlock()
			}
		}
	})
	return pool, log
}

// TestFollowsShardCommands: on Citus, what each call of the follows sends
// the workers (citus.log_remote_commands): Follow and Unfollow write one
// shard of followers and one of follows; a list of one user's edges reads
// one shard; the feed reads the follower's shard of follows once, then the
// shards of posts, each with the page's ORDER BY and LIMIT. On one server
// the calls just run.
func TestFollowsShardCommands(t *testing.T) {
	t.Parallel()
	pool, log := remoteCommandsPool(t)
	r := repo.New(pool)
	e := env{Repo: r, pool: pool, counter: &queryCounter{}, ctx: t.Context()}
	reader := e.mustRegister(t, "Reader", 30)
	var authors []repo.User
	for range 6 {
		a := e.mustRegister(t, "Author", 40)
		authors = append(authors, a)
		require.NoError(t, r.Follow(e.ctx, reader.ID, a.ID))
		p := e.mustPost(t, a.ID, "Post", "go")
		_, err := r.UpdatePost(e.ctx, p.ID, repo.PostPatch{Published: ptr(true)})
		require.NoError(t, err)
	}
	// shards are the distinct shards of table the commands name.
	shards := func(cmds []string, table string) []string {
		var out []string
		for _, cmd := range cmds {
			for _, s := range regexp.MustCompile(`\b`+table+`_\d+\b`).FindAllString(cmd, -1) {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
		return out
	}
	run := func(t *testing.T, call func() error) []string {
		log.reset()
		require.NoError(t, call())
		return log.commands()
	}
	t.Run("Follow", func(t *testing.T) {
		cmds := run(t, func() error { return r.Follow(e.ctx, authors[0].ID, authors[1].ID) })
		if pgtest.Citus() {
			require.Len(t, shards(cmds, "followers"), 1)
			require.Len(t, shards(cmds, "follows"), 1)
		}
	})
	t.Run("Unfollow", func(t *testing.T) {
		cmds := run(t, func() error { return r.Unfollow(e.ctx, authors[0].ID, authors[1].ID) })
		if pgtest.Citus() {
			require.Len(t, shards(cmds, "followers"), 1)
			require.Len(t, shards(cmds, "follows"), 1)
		}
	})
	t.Run("ListFollowing", func(t *testing.T) {
		cmds := run(t, func() error { return errOf(r.ListFollowing(e.ctx, reader.ID, repo.FollowQuery{Limit: 2})) })
		if pgtest.Citus() {
			require.Len(t, cmds, 1)
			require.Len(t, shards(cmds, "follows"), 1)
		}
	})
	t.Run("ListFollowers", func(t *testing.T) {
		cmds := run(t, func() error { return errOf(r.ListFollowers(e.ctx, authors[2].ID, repo.FollowQuery{Limit: 2})) })
		if pgtest.Citus() {
			require.Len(t, cmds, 1)
			require.Len(t, shards(cmds, "followers"), 1)
		}
	})
	for _, s := range []repo.Strategy{repo.Joined, repo.SelectIn} {
		t.Run("ListFeed/"+map[repo.Strategy]string{repo.Joined: "Joined", repo.SelectIn: "SelectIn"}[s], func(t *testing.T) {
			var page repo.Page[repo.Post]
			cmds := run(t, func() (err error) {
				page, err = r.ListFeed(e.ctx, reader.ID, repo.FollowQuery{Limit: 4}, s)
				return err
			})
			require.Len(t, page.Items, 4)
			if !pgtest.Citus() {
				return
			}
			require.Len(t, shards(cmds, "follows"), 1, "the followees are read from the follower's shard")
			for _, cmd := range cmds {
				if regexp.MustCompile(`\bposts_\d+\b`).MatchString(cmd) && !strings.Contains(cmd, "post_tags") {
					require.Regexp(t, `(?s)ORDER BY.*LIMIT`, cmd, "a shard of posts is read without the page's ORDER BY and LIMIT")
				}
			}
			t.Logf("%d commands, %d shards of posts", len(cmds), len(shards(cmds, "posts")))
		})
	}
	t.Run("DeleteUser", func(t *testing.T) {
		// The user's edges with others: found on the user's shard, deleted
		// on every shard of follows and followers (any may hold one).
		cmds := run(t, func() error { return r.DeleteUser(e.ctx, authors[3].ID) })
		if pgtest.Citus() {
			t.Logf("%d commands, %d shards of follows, %d of followers", len(cmds), len(shards(cmds, "follows")), len(shards(cmds, "followers")))
		}
		e.requireEdges(t, func() (want [][2]int64) {
			for _, a := range authors {
				if a.ID != authors[3].ID {
					want = append(want, [2]int64{reader.ID, a.ID})
				}
			}
			return want
		}()...)
	})
}
