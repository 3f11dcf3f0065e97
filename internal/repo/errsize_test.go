package repo_test

import (
	"encoding/base64"
	"iter"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// maxErrorLen bounds an error message whatever the input: five quoted values
// of 64 runes (up to 4 bytes each) and the words around them.
const maxErrorLen = 2048

// TestErrorsStaySmall gives every method that quotes an input in its errors
// a huge one (1 MiB strings, a million tag names), and checks that the error
// is still a line long and that nothing was written.
func TestErrorsStaySmall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	huge := strings.Repeat("é", 1<<19) // 1 MiB
	hugeEmail := strings.Repeat("x", 1<<20) + "@example.com"
	manyTags := make([]string, 1_000_000)
	for i := range manyTags {
		manyTags[i] = "-bad"
	}
	longCursor := base64.RawURLEncoding.EncodeToString([]byte(`{"o":"` + strings.Repeat("x", 1<<20) + `","id":1}`))
	author := e.mustRegister(t, "Author", 30, "author@example.com")
	post := e.mustPost(t, author.ID, "A post")
	one := func(v repo.UserGraph) iter.Seq2[repo.UserGraph, error] {
		return func(yield func(repo.UserGraph, error) bool) { yield(v, nil) }
	}

	calls := map[string]func() error{
		"CreateUser":        func() error { _, err := e.CreateUser(e.ctx, repo.NewUser{Name: huge}); return err },
		"RegisterUserName":  func() error { _, err := e.RegisterUser(e.ctx, repo.NewUser{Name: huge}, "a@example.com"); return err },
		"RegisterUserEmail": func() error { _, err := e.RegisterUser(e.ctx, repo.NewUser{Name: "A"}, hugeEmail); return err },
		"FindUserByName":    func() error { _, err := e.FindUserByName(e.ctx, huge+"\x00", repo.Joined); return err },
		"UpdateUser":        func() error { _, err := e.UpdateUser(e.ctx, author.ID, repo.UserPatch{Name: &huge}); return err },
		"AddAddress":        func() error { _, err := e.AddAddress(e.ctx, author.ID, hugeEmail); return err },
		"SetProfile":        func() error { _, err := e.SetProfile(e.ctx, repo.Profile{UserID: author.ID, Bio: huge}); return err },
		"SetProfileWebsite": func() error {
			_, err := e.SetProfile(e.ctx, repo.Profile{UserID: author.ID, Website: &huge})
			return err
		},
		"CreatePost": func() error { _, err := e.CreatePost(e.ctx, repo.NewPost{UserID: author.ID, Title: huge}); return err },
		"CreatePostNoAuthor": func() error {
			_, err := e.CreatePost(e.ctx, repo.NewPost{UserID: -1, Title: strings.Repeat("t", repo.MaxTitleLen)})
			return err
		},
		"UpdatePost":      func() error { _, err := e.UpdatePost(e.ctx, post.ID, repo.PostPatch{Title: &huge}); return err },
		"TagPostLong":     func() error { _, err := e.TagPost(e.ctx, post.ID, huge); return err },
		"TagPostMany":     func() error { _, err := e.TagPost(e.ctx, post.ID, manyTags...); return err },
		"UntagPostMany":   func() error { _, err := e.UntagPost(e.ctx, post.ID, manyTags...); return err },
		"ListUsersCursor": func() error { _, err := e.ListUsers(e.ctx, repo.UserQuery{After: longCursor}); return err },
		"ListUsersOrder":  func() error { _, err := e.ListUsers(e.ctx, repo.UserQuery{OrderBy: repo.UserOrder(huge)}); return err },
		"ListPostsCursor": func() error { _, err := e.ListPosts(e.ctx, repo.PostQuery{After: longCursor}, repo.Joined); return err },
		"BulkCreateUsers": func() error { _, err := e.BulkCreateUsers(e.ctx, []repo.NewUser{{Name: huge}}); return err },
		"BulkInsertGraphs": func() error {
			_, err := e.BulkInsertGraphs(e.ctx, one(repo.UserGraph{User: repo.NewUser{Name: "A"}, Emails: []string{hugeEmail}}), repo.BulkOptions{})
			return err
		},
		"UpsertUsersByEmail": func() error {
			rows := func(yield func(repo.UserImport, error) bool) {
				yield(repo.UserImport{Email: "a@example.com", Name: huge}, nil)
			}
			_, err := e.UpsertUsersByEmail(e.ctx, rows, repo.BulkOptions{})
			return err
		},
	}
	for name, call := range calls {
		err := call()
		require.Error(t, err, name)
		require.Less(t, len(err.Error()), maxErrorLen, "%s: %.200s...", name, err.Error())
	}
	require.Equal(t, 1, e.rows(t, "users"), "nothing written")
	require.Equal(t, 1, e.rows(t, "posts"))
	require.Equal(t, 0, e.rows(t, "tags"))
	require.Equal(t, 0, e.rows(t, "profiles"))
}
