package repo_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// TestListShardCommands: on Citus, every list sends its ORDER BY and LIMIT
// to the shards of users, which so return at most a page each, whatever the
// strategy (citus.log_remote_commands shows each command the coordinator
// sends a node), and so do pages of posts. On one server there are no
// shards: the lists just run.
func TestListShardCommands(t *testing.T) {
	t.Parallel()
	pool, log := remoteCommandsPool(t)
	r := repo.New(pool)
	e := env{Repo: r, pool: pool, counter: &queryCounter{}, ctx: t.Context()}
	seedPeople(t, e, 12)
	usersShard := regexp.MustCompile(`\busers_\d+\b`)
	postsShard := regexp.MustCompile(`\bposts_\d+\b`)
	q := repo.UserQuery{OrderBy: repo.ByAge, MinAge: ptr[int32](5), Limit: 2}
	calls := map[string]func(q repo.UserQuery) (repo.Page[repo.User], error){
		"ListUsers": func(q repo.UserQuery) (repo.Page[repo.User], error) { return r.ListUsers(e.ctx, q) },
		"ListUsersWithAddresses/Joined": func(q repo.UserQuery) (repo.Page[repo.User], error) {
			return r.ListUsersWithAddresses(e.ctx, q, repo.Joined)
		},
		"ListUsersWithAddresses/SelectIn": func(q repo.UserQuery) (repo.Page[repo.User], error) {
			return r.ListUsersWithAddresses(e.ctx, q, repo.SelectIn)
		},
		"ListUsersWithPosts/Joined": func(q repo.UserQuery) (repo.Page[repo.User], error) {
			return r.ListUsersWithPosts(e.ctx, q, repo.Joined)
		},
		"ListUsersWithPosts/SelectIn": func(q repo.UserQuery) (repo.Page[repo.User], error) {
			return r.ListUsersWithPosts(e.ctx, q, repo.SelectIn)
		},
	}
	// Pages of posts, as pages of users: next pages by the cursor.
	for _, s := range []repo.Strategy{repo.Joined, repo.SelectIn} {
		calls[fmt.Sprintf("ListPosts/%d", s)] = func(q repo.UserQuery) (repo.Page[repo.User], error) {
			page, err := r.ListPosts(e.ctx, repo.PostQuery{Published: ptr(false), Limit: 1, After: q.After}, s)
			return repo.Page[repo.User]{Next: page.Next}, err
		}
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			shard := usersShard
			if strings.HasPrefix(name, "ListPosts") {
				shard = postsShard
			}
			log.reset()
			first, err := call(q)
			require.NoError(t, err)
			require.NotEmpty(t, first.Next)
			next := q
			next.After = first.Next
			_, err = call(next)
			require.NoError(t, err)
			if !pgtest.Citus() {
				return
			}
			issued := log.commands()
			var reads int
			for _, cmd := range issued {
				if !shard.MatchString(cmd) {
					continue
				}
				reads++
				require.Regexp(t, `(?s)ORDER BY.*LIMIT`, cmd, "a shard is read without the page's ORDER BY and LIMIT")
			}
			require.NotZero(t, reads, "no command read a shard: %q", issued)
			t.Logf("%d commands; e.g. %s", len(issued), issued[0])
		})
	}
}
