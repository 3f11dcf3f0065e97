package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgxPeer is hand-written SQL on pgx: the floor every layer is measured against.
type pgxPeer struct{ pool *pgxpool.Pool }

func (p *pgxPeer) name() string { return "pgx" }

func (p *pgxPeer) open(ctx context.Context, db *database) error {
	var err error
	p.pool, err = db.pgxPool(ctx)
	return err
}

func (p *pgxPeer) close() { p.pool.Close() }

func (p *pgxPeer) insertUser(ctx context.Context, u user) (int64, error) {
	var id int64
	err := p.pool.QueryRow(ctx, "INSERT INTO users (name, age) VALUES ($1, $2) RETURNING id", u.Name, u.Age).Scan(&id)
	return id, err
}

func (p *pgxPeer) getUser(ctx context.Context, id int64) error {
	var u pgxUser
	return p.pool.QueryRow(ctx, "SELECT id, name, age, created_at FROM users WHERE id = $1", id).Scan(&u.id, &u.name, &u.age, &u.created)
}

// updateAge returns the row as stored, as inkwell's UpdateUser does.
func (p *pgxPeer) updateAge(ctx context.Context, id int64, age int32) error {
	var u pgxUser
	var created time.Time
	return p.pool.QueryRow(ctx, "UPDATE users SET age = $1 WHERE id = $2 RETURNING id, name, age, created_at", age, id).
		Scan(&u.id, &u.name, &u.age, &created)
}

func (p *pgxPeer) bulkUsers(ctx context.Context, users []user) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"name", "age"},
			pgx.CopyFromSlice(len(users), func(i int) ([]any, error) { return []any{users[i].Name, users[i].Age}, nil }))
		return err
	})
}

func (p *pgxPeer) bulkUsersNaive(ctx context.Context, users []user) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		for _, u := range users {
			if _, err := tx.Exec(ctx, "INSERT INTO users (name, age) VALUES ($1, $2)", u.Name, u.Age); err != nil {
				return err
			}
		}
		return nil
	})
}

func (p *pgxPeer) bulkGraph(ctx context.Context, graphs []graph) error {
	nAddr := 0
	for _, g := range graphs {
		nAddr += len(g.Emails)
	}
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var userIDs []int64
		if err := tx.QueryRow(ctx, "SELECT ARRAY(SELECT nextval('users_id_seq'::regclass) FROM generate_series(1, $1))",
			len(graphs)).Scan(&userIDs); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "name", "age"},
			pgx.CopyFromSlice(len(graphs), func(i int) ([]any, error) {
				return []any{userIDs[i], graphs[i].User.Name, graphs[i].User.Age}, nil
			})); err != nil {
			return err
		}
		rows := make([][]any, 0, nAddr)
		for i, g := range graphs {
			for _, e := range g.Emails {
				rows = append(rows, []any{userIDs[i], e})
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"addresses"}, []string{"user_id", "email"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		// email_owners from the addresses just copied, the key by the
		// schema's email_key.
		_, err := tx.Exec(ctx, `INSERT INTO email_owners (email_key, user_id, address_id)
			SELECT email_key(email), user_id, id FROM addresses WHERE user_id = ANY($1)`, userIDs)
		return err
	})
}

// pgxUser holds the same columns inkwell's User does, so that both read
// the same bytes.
type pgxUser struct {
	id        int64
	name      string
	age       int32
	created   time.Time
	addresses []pgxAddress
}

type pgxAddress struct {
	id    int64
	email string
}

func (p *pgxPeer) listJoined(ctx context.Context, limit int) (int, error) {
	rows, err := p.pool.Query(ctx, `SELECT u.id, u.name, u.age, u.created_at, a.id, a.email FROM users u
		LEFT JOIN addresses a ON a.user_id = u.id
		WHERE u.id IN (SELECT id FROM users ORDER BY id LIMIT $1) ORDER BY u.id, a.id`, limit)
	if err != nil {
		return 0, err
	}
	var users []pgxUser
	n := 0
	for rows.Next() {
		var u pgxUser
		var aid *int64
		var email *string
		if err := rows.Scan(&u.id, &u.name, &u.age, &u.created, &aid, &email); err != nil {
			return 0, err
		}
		if len(users) == 0 || users[len(users)-1].id != u.id {
			users = append(users, u)
		}
		if aid != nil {
			users[len(users)-1].addresses = append(users[len(users)-1].addresses, pgxAddress{*aid, *email})
			n++
		}
	}
	return n, rows.Err()
}

func (p *pgxPeer) listSelectIn(ctx context.Context, limit int) (int, error) {
	users, err := p.firstUsers(ctx, limit)
	if err != nil {
		return 0, err
	}
	ids := make([]int64, len(users))
	byID := make(map[int64]*pgxUser, len(users))
	for i := range users {
		ids[i] = users[i].id
		byID[users[i].id] = &users[i]
	}
	rows, err := p.pool.Query(ctx, "SELECT id, user_id, email FROM addresses WHERE user_id = ANY($1) ORDER BY user_id, id", ids)
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		var a pgxAddress
		var uid int64
		if err := rows.Scan(&a.id, &uid, &a.email); err != nil {
			return 0, err
		}
		byID[uid].addresses = append(byID[uid].addresses, a)
		n++
	}
	return n, rows.Err()
}

func (p *pgxPeer) firstUsers(ctx context.Context, limit int) ([]pgxUser, error) {
	rows, err := p.pool.Query(ctx, "SELECT id, name, age, created_at FROM users ORDER BY id LIMIT $1", limit)
	if err != nil {
		return nil, err
	}
	var users []pgxUser
	for rows.Next() {
		var u pgxUser
		if err := rows.Scan(&u.id, &u.name, &u.age, &u.created); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

func (p *pgxPeer) listNaive(ctx context.Context, limit int) (int, error) {
	users, err := p.firstUsers(ctx, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range users {
		rows, err := p.pool.Query(ctx, "SELECT id, email FROM addresses WHERE user_id = $1 ORDER BY id", users[i].id)
		if err != nil {
			return 0, err
		}
		addresses, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pgxAddress, error) {
			var a pgxAddress
			return a, row.Scan(&a.id, &a.email)
		})
		if err != nil {
			return 0, err
		}
		users[i].addresses = addresses
		n += len(addresses)
	}
	return n, nil
}

func (p *pgxPeer) pageWithPosts(ctx context.Context, afterID int64, limit int) (int, error) {
	rows, err := p.pool.Query(ctx, `SELECT u.id, u.name, u.age, u.created_at,
			p.id, p.title, p.content, p.published, p.rating, p.created_at FROM users u
		LEFT JOIN posts p ON p.user_id = u.id
		WHERE u.id IN (SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2) ORDER BY u.id, p.id`, afterID, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		var u pgxUser
		var pid *int64
		var title, content *string
		var published *bool
		var rating *float64
		var created *time.Time
		if err := rows.Scan(&u.id, &u.name, &u.age, &u.created, &pid, &title, &content, &published, &rating, &created); err != nil {
			return 0, err
		}
		if pid != nil {
			n++
		}
	}
	return n, rows.Err()
}

func (p *pgxPeer) register(ctx context.Context, u user, emails []string) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, "INSERT INTO users (name, age) VALUES ($1, $2) RETURNING id", u.Name, u.Age).Scan(&id); err != nil {
			return err
		}
		// The addresses and their email_owners rows (the key by the
		// schema's email_key) in one statement.
		_, err := tx.Exec(ctx, `WITH a AS (
				INSERT INTO addresses (user_id, email) SELECT $1, unnest($2::text[]) RETURNING user_id, id, email)
			INSERT INTO email_owners (email_key, user_id, address_id) SELECT email_key(email), user_id, id FROM a`, id, emails)
		return err
	})
}
