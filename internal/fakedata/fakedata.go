// Package fakedata generates realistic users, emails, profiles, posts and
// tags for seeding and benchmarks, with gofakeit. The same seed gives the
// same data, value for value.
package fakedata

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/brianvoe/gofakeit/v7"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// Config says what to generate. The zero value of a count means none.
type Config struct {
	Seed             uint64
	AddressesPerUser int
	PostsPerUser     int
	Tags             int // size of the pool of tag names posts draw from

	// Tables declares tables of the user's own that Extra writes rows of;
	// pass them on to the load (repo.BulkOptions.Tables,
	// repo.InitialLoadOptions.Tables). CONTRIBUTING, "Adding a table to the
	// seed", shows both.
	Tables []repo.ExtraTable
	// Extra, if set, adds rows of Tables to each graph (g.Rows, whose
	// values may be repo.ThisUser, repo.PostOf(i) and repo.UserBefore(k),
	// k <= n) once the rest of the graph is made; n is the number of graphs
	// this generator made before g. r is its own, seeded from Seed: the same
	// seed gives the same rows, and the other data is the same with Extra or
	// without.
	Extra func(r *rand.Rand, n int, g *repo.UserGraph)
}

// Generator makes user graphs one after another.
type Generator struct {
	cfg   Config
	f     *gofakeit.Faker
	token string     // in every email, so that loads with other seeds never collide
	next  int        // users made so far
	extra *rand.Rand // Extra's

	// Whole sentences cost microseconds each to make, more than a COPY of
	// the row; drawing from pools made up front keeps generation cheap.
	titles, contents, bios []string
	tags                   []string
}

const poolSize = 1024

var domains = []string{"example.com", "example.org", "example.net"}

// New returns a generator for cfg.
func New(cfg Config) *Generator {
	f := gofakeit.New(cfg.Seed)
	g := &Generator{cfg: cfg, f: f, token: strconv.FormatUint(cfg.Seed%(36*36*36*36*36), 36)}
	if cfg.Extra != nil {
		g.extra = rand.New(rand.NewPCG(cfg.Seed, 0x696e6b77656c6c)) // "inkwell"
	}
	for range poolSize {
		g.titles = append(g.titles, truncate(strings.TrimSuffix(f.Sentence(), "."), repo.MaxTitleLen))
		g.contents = append(g.contents, f.Paragraph())
	}
	for range poolSize / 4 {
		g.bios = append(g.bios, truncate(f.HipsterSentence(), repo.MaxBioLen))
	}
	seen := map[string]bool{}
	for len(g.tags) < cfg.Tags {
		tag := slug(f.HackerNoun(), repo.MaxTagNameLen-6)
		if tag == "" {
			tag = "tag"
		}
		if seen[tag] {
			tag += "-" + strconv.Itoa(len(g.tags)+1)
		}
		seen[tag] = true
		g.tags = append(g.tags, tag)
	}
	return g
}

// Tags returns the pool of tag names.
func (g *Generator) Tags() []string { return g.tags }

// Users yields the next n user graphs.
func (g *Generator) Users(n int) iter.Seq2[repo.UserGraph, error] {
	return func(yield func(repo.UserGraph, error) bool) {
		for range n {
			if !yield(g.user(), nil) {
				return
			}
		}
	}
}

func (g *Generator) user() repo.UserGraph {
	g.next++
	f := g.f
	first, last := f.FirstName(), f.LastName()
	u := repo.UserGraph{User: repo.NewUser{Name: first + " " + last, Age: int32(f.IntRange(18, 90))}}
	local := slug(first, 20) + "." + slug(last, 20) + "." + strconv.Itoa(g.next) + "." + g.token
	for i := range g.cfg.AddressesPerUser {
		suffix := ""
		if i > 0 {
			suffix = "+" + strconv.Itoa(i+1)
		}
		u.Emails = append(u.Emails, local+suffix+"@"+domains[(g.next+i)%len(domains)])
	}
	if f.Bool() {
		website := fmt.Sprintf("https://%s.example.com/~%s", domainWord(last), slug(first, 20))
		u.Profile = &repo.GraphProfile{Bio: g.bios[f.IntN(len(g.bios))], Website: &website}
	}
	for range g.cfg.PostsPerUser {
		p := repo.GraphPost{
			Title:     g.titles[f.IntN(len(g.titles))],
			Content:   g.contents[f.IntN(len(g.contents))],
			Published: f.Bool(),
			Rating:    math.Round(f.Float64Range(0, 5)*10) / 10,
		}
		if len(g.tags) > 0 {
			for range f.IntN(min(3, len(g.tags)) + 1) {
				p.Tags = append(p.Tags, g.tags[f.IntN(len(g.tags))])
			}
		}
		u.Posts = append(u.Posts, p)
	}
	if g.cfg.Extra != nil {
		g.cfg.Extra(g.extra, g.next-1, &u)
	}
	return u
}

// slug keeps the lower-case letters and digits of s, joining words with
// dashes, at most max bytes.
func slug(s string, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	return strings.Trim(b.String()[:min(b.Len(), max)], "-")
}

func domainWord(s string) string {
	if w := strings.ReplaceAll(slug(s, 30), "-", ""); w != "" {
		return w
	}
	return "home"
}

func truncate(s string, max int) string {
	if r := []rune(s); len(r) > max {
		return string(r[:max])
	}
	return s
}
