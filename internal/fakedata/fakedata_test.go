package fakedata_test

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inkwell-dev/inkwell/internal/fakedata"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

func collect(g *fakedata.Generator, n int) []repo.UserGraph {
	var out []repo.UserGraph
	for u, err := range g.Users(n) {
		if err != nil {
			panic(err)
		}
		out = append(out, u)
	}
	return out
}

var cfg = fakedata.Config{Seed: 42, AddressesPerUser: 2, PostsPerUser: 3, Tags: 40}

func TestSameSeedSameData(t *testing.T) {
	t.Parallel()
	a, b := fakedata.New(cfg), fakedata.New(cfg)
	require.Equal(t, a.Tags(), b.Tags())
	require.Equal(t, collect(a, 300), collect(b, 300))
	require.Equal(t, collect(a, 300), collect(b, 300), "and the next users too")

	other := cfg
	other.Seed = 43
	require.NotEqual(t, collect(fakedata.New(cfg), 50), collect(fakedata.New(other), 50))
}

func TestShape(t *testing.T) {
	t.Parallel()
	tagShape := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,49}$`)
	g := fakedata.New(cfg)
	require.Len(t, g.Tags(), 40)
	tags := map[string]bool{}
	for _, tag := range g.Tags() {
		require.Regexp(t, tagShape, tag)
		require.False(t, tags[tag], "tag %q twice", tag)
		tags[tag] = true
	}

	emails := map[string]bool{}
	profiles := 0
	for _, u := range collect(g, 5000) {
		require.NotEmpty(t, u.User.Name)
		require.Len(t, u.Emails, 2)
		for _, e := range u.Emails {
			require.Regexp(t, `^[^@\s]+@example\.(com|org|net)$`, e)
			require.False(t, emails[e], "email %q twice", e)
			emails[e] = true
		}
		require.Len(t, u.Posts, 3)
		for _, p := range u.Posts {
			require.NotEmpty(t, p.Title)
			require.LessOrEqual(t, len(p.Tags), 3)
			for _, tag := range p.Tags {
				require.True(t, tags[tag])
			}
		}
		if u.Profile != nil {
			profiles++
		}
	}
	require.InDelta(t, 2500, profiles, 250, "about half the users have a profile")

	// Another seed's emails never collide with these.
	other := cfg
	other.Seed = 7
	for _, u := range collect(fakedata.New(other), 5000) {
		for _, e := range u.Emails {
			require.False(t, emails[e], "email %q in both loads", e)
		}
	}
}
