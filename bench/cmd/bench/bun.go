package main

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// bunPeer is bun with its Postgres dialect over database/sql (pgx's stdlib
// driver, so the statements are counted like everyone else's).
type bunPeer struct {
	db    *bun.DB
	sqlDB *sql.DB
}

type bunUser struct {
	bun.BaseModel `bun:"table:users"`
	ID            int64         `bun:",pk,autoincrement"`
	Name          string        `bun:",notnull"`
	Age           int32         `bun:",notnull"`
	CreatedAt     time.Time     `bun:",nullzero,notnull,default:current_timestamp"`
	Addresses     []*bunAddress `bun:"rel:has-many,join:id=user_id"`
	Posts         []*bunPost    `bun:"rel:has-many,join:id=user_id"`
}

// bunAddress is keyed (user_id, id) as the table is (bun's updates and
// deletes of a model go by its key); id is the identity column.
type bunAddress struct {
	bun.BaseModel `bun:"table:addresses"`
	UserID        int64 `bun:",pk"`
	ID            int64 `bun:",pk,autoincrement"`
	Email         string
}

// bunEmailOwner is an address's email_owners row, its key computed in Go
// (emailKey).
type bunEmailOwner struct {
	bun.BaseModel `bun:"table:email_owners"`
	EmailKey      string `bun:",pk"`
	UserID        int64
	AddressID     int64
}

// bunInsertAddresses inserts addresses (their ids come back by RETURNING),
// then their email_owners rows, bunBatch rows a statement.
func bunInsertAddresses(ctx context.Context, tx bun.Tx, addresses []*bunAddress) error {
	owners := make([]*bunEmailOwner, len(addresses))
	for start := 0; start < len(addresses); start += bunBatch {
		batch := addresses[start:min(start+bunBatch, len(addresses))]
		if _, err := tx.NewInsert().Model(&batch).Exec(ctx); err != nil {
			return err
		}
		for i, a := range batch {
			owners[start+i] = &bunEmailOwner{EmailKey: emailKey(a.Email), UserID: a.UserID, AddressID: a.ID}
		}
	}
	for start := 0; start < len(owners); start += bunBatch {
		batch := owners[start:min(start+bunBatch, len(owners))]
		if _, err := tx.NewInsert().Model(&batch).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

type bunPost struct {
	bun.BaseModel `bun:"table:posts"`
	UserID        int64 `bun:",pk"`
	ID            int64 `bun:",pk,autoincrement"`
	Title         string
	Content       string
}

func (p *bunPeer) name() string { return "bun" }

func (p *bunPeer) open(ctx context.Context, db *database) error {
	var err error
	if p.sqlDB, err = db.sqlDB(ctx, pgx.QueryExecModeExec); err != nil {
		return err
	}
	p.db = bun.NewDB(p.sqlDB, pgdialect.New())
	return nil
}

func (p *bunPeer) close() { p.sqlDB.Close() }

func (p *bunPeer) insertUser(ctx context.Context, u user) (int64, error) {
	row := &bunUser{Name: u.Name, Age: u.Age}
	_, err := p.db.NewInsert().Model(row).Exec(ctx)
	return row.ID, err
}

func (p *bunPeer) getUser(ctx context.Context, id int64) error {
	row := new(bunUser)
	return p.db.NewSelect().Model(row).Where("id = ?", id).Scan(ctx)
}

func (p *bunPeer) updateAge(ctx context.Context, id int64, age int32) error {
	_, err := p.db.NewUpdate().Model((*bunUser)(nil)).Set("age = ?", age).Where("id = ?", id).Exec(ctx)
	return err
}

// bunBatch is how many rows one multi-row INSERT carries.
const bunBatch = 1000

func bunInsertUsers(ctx context.Context, db bun.IDB, rows []*bunUser) error {
	for start := 0; start < len(rows); start += bunBatch {
		batch := rows[start:min(start+bunBatch, len(rows))]
		if _, err := db.NewInsert().Model(&batch).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

func toBun(users []user) []*bunUser {
	rows := make([]*bunUser, len(users))
	for i, u := range users {
		rows[i] = &bunUser{Name: u.Name, Age: u.Age}
	}
	return rows
}

func (p *bunPeer) bulkUsers(ctx context.Context, users []user) error {
	rows := toBun(users)
	return p.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return bunInsertUsers(ctx, tx, rows) })
}

func (p *bunPeer) bulkUsersNaive(ctx context.Context, users []user) error {
	return p.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, row := range toBun(users) {
			if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}

func (p *bunPeer) bulkGraph(ctx context.Context, graphs []graph) error {
	rows := make([]*bunUser, len(graphs))
	for i, g := range graphs {
		rows[i] = &bunUser{Name: g.User.Name, Age: g.User.Age}
	}
	return p.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := bunInsertUsers(ctx, tx, rows); err != nil { // fills in the ids (RETURNING)
			return err
		}
		var addresses []*bunAddress
		for i, g := range graphs {
			for _, e := range g.Emails {
				addresses = append(addresses, &bunAddress{UserID: rows[i].ID, Email: e})
			}
		}
		return bunInsertAddresses(ctx, tx, addresses)
	})
}

func bunCount(users []*bunUser, posts bool) int {
	n := 0
	for _, u := range users {
		if posts {
			n += len(u.Posts)
		} else {
			n += len(u.Addresses)
		}
	}
	return n
}

// listJoined: bun joins has-one and belongs-to relations; has-many ones are
// always loaded with a second query.
func (p *bunPeer) listJoined(ctx context.Context, limit int) (int, error) { return 0, errUnsupported }

func (p *bunPeer) listSelectIn(ctx context.Context, limit int) (int, error) {
	var users []*bunUser
	err := p.db.NewSelect().Model(&users).Relation("Addresses").Order("id").Limit(int64(limit)).Scan(ctx)
	return bunCount(users, false), err
}

func (p *bunPeer) listNaive(ctx context.Context, limit int) (int, error) {
	var users []*bunUser
	if err := p.db.NewSelect().Model(&users).Order("id").Limit(int64(limit)).Scan(ctx); err != nil {
		return 0, err
	}
	for _, u := range users {
		if err := p.db.NewSelect().Model(&u.Addresses).Where("user_id = ?", u.ID).Order("id").Scan(ctx); err != nil {
			return 0, err
		}
	}
	return bunCount(users, false), nil
}

func (p *bunPeer) pageWithPosts(ctx context.Context, afterID int64, limit int) (int, error) {
	var users []*bunUser
	err := p.db.NewSelect().Model(&users).Relation("Posts").Where("id > ?", afterID).Order("id").Limit(int64(limit)).Scan(ctx)
	return bunCount(users, true), err
}

func (p *bunPeer) register(ctx context.Context, u user, emails []string) error {
	return p.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := &bunUser{Name: u.Name, Age: u.Age}
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return err
		}
		addresses := make([]*bunAddress, len(emails))
		for i, e := range emails {
			addresses[i] = &bunAddress{UserID: row.ID, Email: e}
		}
		return bunInsertAddresses(ctx, tx, addresses)
	})
}
