package main

import (
	"context"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/inkwell-dev/inkwell/internal/cli"
	"github.com/inkwell-dev/inkwell/internal/fakedata"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// rawMain is the baseline: the rows of cmd/seed's generator loaded with pgx
// CopyFrom and nothing else. The database is fresh, so ids are counted here
// instead of reserved, and nothing is validated.
func rawMain(ctx context.Context, args []string, stderr io.Writer) int {
	var cfg config
	flags := cli.New(cli.Spec{Name: "benchseed raw", Usage: "usage: benchseed raw [flags]\n\nLoads the generated users with pgx CopyFrom alone (benchseed's baseline).\n\nFlags:\n"}, stderr)
	databaseURL := addFlags(flags, &cfg)
	if err := flags.Parse(args); err != nil {
		return flags.Fail(err)
	}
	cfg.databaseURL = *databaseURL
	if err := rawLoad(ctx, cfg); err != nil {
		fmt.Fprintln(stderr, "benchseed raw:", err)
		return 1
	}
	return 0
}

func rawLoad(ctx context.Context, cfg config) error {
	conn, err := repo.Connect(ctx, cfg.databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	gen := fakedata.New(fakedata.Config{Seed: cfg.seed, AddressesPerUser: cfg.addressesPerUser,
		PostsPerUser: cfg.postsPerUser, Tags: cfg.tags})

	tagIDs := map[string]int64{}
	tagRows := make([][]any, len(gen.Tags()))
	for i, name := range gen.Tags() {
		tagIDs[name] = int64(i + 1)
		tagRows[i] = []any{int64(i + 1), name}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"tags"}, []string{"id", "name"}, pgx.CopyFromRows(tagRows)); err != nil {
		return err
	}

	var userID, addressID, postID int64
	var users, addresses, profiles, posts, postTags [][]any
	flush := func() error {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			for _, c := range []struct {
				table   string
				columns []string
				rows    [][]any
			}{
				{"users", []string{"id", "name", "age"}, users},
				{"addresses", []string{"id", "user_id", "email"}, addresses},
				{"profiles", []string{"user_id", "bio", "website"}, profiles},
				{"posts", []string{"id", "user_id", "title", "content", "published", "rating"}, posts},
				{"post_tags", []string{"user_id", "post_id", "tag_id"}, postTags},
			} {
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.columns, pgx.CopyFromRows(c.rows)); err != nil {
					return fmt.Errorf("copy %s: %w", c.table, err)
				}
			}
			// Each address's email_owners row, keyed by the server's email_key.
			if len(addresses) > 0 {
				_, err := tx.Exec(ctx, `INSERT INTO email_owners (email_key, user_id, address_id)
					SELECT email_key(email), user_id, id FROM addresses WHERE id BETWEEN $1 AND $2`,
					addresses[0][0], addresses[len(addresses)-1][0])
				if err != nil {
					return fmt.Errorf("email owners: %w", err)
				}
			}
			return nil
		})
		users, addresses, profiles, posts, postTags = users[:0], addresses[:0], profiles[:0], posts[:0], postTags[:0]
		return err
	}
	for g, err := range gen.Users(cfg.users) {
		if err != nil {
			return err
		}
		userID++
		users = append(users, []any{userID, g.User.Name, g.User.Age})
		for _, e := range g.Emails {
			addressID++
			addresses = append(addresses, []any{addressID, userID, e})
		}
		if g.Profile != nil {
			profiles = append(profiles, []any{userID, g.Profile.Bio, g.Profile.Website})
		}
		for _, p := range g.Posts {
			postID++
			posts = append(posts, []any{postID, userID, p.Title, p.Content, p.Published, p.Rating})
			for _, id := range distinctTagIDs(p.Tags, tagIDs) {
				postTags = append(postTags, []any{userID, postID, id})
			}
		}
		if len(users) == cfg.batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(users) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	// Move the sequences past the ids used, as a real load must.
	_, err = conn.Exec(ctx, `
		SELECT setval(pg_get_serial_sequence('users', 'id'), $1),
		       setval(pg_get_serial_sequence('addresses', 'id'), $2),
		       setval(pg_get_serial_sequence('posts', 'id'), $3),
		       setval(pg_get_serial_sequence('tags', 'id'), $4)`,
		max(userID, 1), max(addressID, 1), max(postID, 1), max(int64(len(tagRows)), 1))
	return err
}

// distinctTagIDs maps a post's tag names to ids, each once. Generated tags
// are already normalised.
func distinctTagIDs(names []string, ids map[string]int64) []int64 {
	var out []int64
	for _, n := range names {
		id := ids[n]
		dup := false
		for _, o := range out {
			dup = dup || o == id
		}
		if !dup {
			out = append(out, id)
		}
	}
	return out
}
