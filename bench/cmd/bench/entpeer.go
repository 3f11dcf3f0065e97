package main

import (
	"context"
	"database/sql"
	"fmt"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5"

	"github.com/inkwell-dev/inkwell/bench/cmd/bench/ent"
	entuser "github.com/inkwell-dev/inkwell/bench/cmd/bench/ent/user"
)

// entPeer is ent, its code generated from ent/schema (the same tables), over
// pgx's database/sql driver.
type entPeer struct {
	client *ent.Client
	sqlDB  *sql.DB
}

func (p *entPeer) name() string { return "ent" }

func (p *entPeer) open(ctx context.Context, db *database) error {
	var err error
	if p.sqlDB, err = db.sqlDB(ctx, pgx.QueryExecModeCacheStatement); err != nil {
		return err
	}
	p.client = ent.NewClient(ent.Driver(entsql.OpenDB("postgres", p.sqlDB)))
	return nil
}

func (p *entPeer) close() { p.client.Close() }

func (p *entPeer) insertUser(ctx context.Context, u user) (int64, error) {
	row, err := p.client.User.Create().SetName(u.Name).SetAge(u.Age).Save(ctx)
	if err != nil {
		return 0, err
	}
	return row.ID, nil
}

func (p *entPeer) getUser(ctx context.Context, id int64) error {
	_, err := p.client.User.Get(ctx, id)
	return err
}

func (p *entPeer) updateAge(ctx context.Context, id int64, age int32) error {
	_, err := p.client.User.UpdateOneID(id).SetAge(age).Save(ctx)
	return err
}

// inTx runs fn in an ent transaction.
func (p *entPeer) inTx(ctx context.Context, fn func(tx *ent.Tx) error) error {
	tx, err := p.client.Tx(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		return err
	}
	return tx.Commit()
}

const entBatch = 1000

func entCreateUsers(ctx context.Context, tx *ent.Tx, users []user) ([]*ent.User, error) {
	var created []*ent.User
	for start := 0; start < len(users); start += entBatch {
		batch := users[start:min(start+entBatch, len(users))]
		builders := make([]*ent.UserCreate, len(batch))
		for i, u := range batch {
			builders[i] = tx.User.Create().SetName(u.Name).SetAge(u.Age)
		}
		rows, err := tx.User.CreateBulk(builders...).Save(ctx)
		if err != nil {
			return nil, err
		}
		created = append(created, rows...)
	}
	return created, nil
}

func (p *entPeer) bulkUsers(ctx context.Context, users []user) error {
	return p.inTx(ctx, func(tx *ent.Tx) error {
		_, err := entCreateUsers(ctx, tx, users)
		return err
	})
}

func (p *entPeer) bulkUsersNaive(ctx context.Context, users []user) error {
	return p.inTx(ctx, func(tx *ent.Tx) error {
		for _, u := range users {
			if _, err := tx.User.Create().SetName(u.Name).SetAge(u.Age).Save(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}

func (p *entPeer) bulkGraph(ctx context.Context, graphs []graph) error {
	users := make([]user, len(graphs))
	for i, g := range graphs {
		users[i] = g.User
	}
	return p.inTx(ctx, func(tx *ent.Tx) error {
		created, err := entCreateUsers(ctx, tx, users) // RETURNING gives the ids
		if err != nil {
			return err
		}
		var builders []*ent.AddressCreate
		for i, g := range graphs {
			for _, e := range g.Emails {
				builders = append(builders, tx.Address.Create().SetUserID(created[i].ID).SetEmail(e))
			}
		}
		return entCreateAddresses(ctx, tx, builders)
	})
}

// entCreateAddresses creates addresses (their ids come back by RETURNING),
// then their email_owners rows, the key computed in Go (emailKey), entBatch
// rows a statement.
func entCreateAddresses(ctx context.Context, tx *ent.Tx, builders []*ent.AddressCreate) error {
	owners := make([]*ent.EmailOwnerCreate, 0, len(builders))
	for start := 0; start < len(builders); start += entBatch {
		created, err := tx.Address.CreateBulk(builders[start:min(start+entBatch, len(builders))]...).Save(ctx)
		if err != nil {
			return err
		}
		for _, a := range created {
			owners = append(owners, tx.EmailOwner.Create().SetID(emailKey(a.Email)).SetUserID(a.UserID).SetAddressID(a.ID))
		}
	}
	for start := 0; start < len(owners); start += entBatch {
		if _, err := tx.EmailOwner.CreateBulk(owners[start:min(start+entBatch, len(owners))]...).Save(ctx); err != nil {
			return err
		}
	}
	return nil
}

func entCount(users []*ent.User, posts bool) int {
	n := 0
	for _, u := range users {
		if posts {
			n += len(u.Edges.Posts)
		} else {
			n += len(u.Edges.Addresses)
		}
	}
	return n
}

// listJoined: ent's eager loading (With...) always runs a query per edge;
// it has no JOIN for has-many edges.
func (p *entPeer) listJoined(ctx context.Context, limit int) (int, error) { return 0, errUnsupported }

func (p *entPeer) listSelectIn(ctx context.Context, limit int) (int, error) {
	users, err := p.client.User.Query().Order(ent.Asc(entuser.FieldID)).Limit(limit).WithAddresses().All(ctx)
	return entCount(users, false), err
}

func (p *entPeer) listNaive(ctx context.Context, limit int) (int, error) {
	users, err := p.client.User.Query().Order(ent.Asc(entuser.FieldID)).Limit(limit).All(ctx)
	if err != nil {
		return 0, err
	}
	for _, u := range users {
		if u.Edges.Addresses, err = u.QueryAddresses().All(ctx); err != nil {
			return 0, err
		}
	}
	return entCount(users, false), nil
}

func (p *entPeer) pageWithPosts(ctx context.Context, afterID int64, limit int) (int, error) {
	users, err := p.client.User.Query().Where(entuser.IDGT(afterID)).Order(ent.Asc(entuser.FieldID)).
		Limit(limit).WithPosts().All(ctx)
	return entCount(users, true), err
}

func (p *entPeer) register(ctx context.Context, u user, emails []string) error {
	return p.inTx(ctx, func(tx *ent.Tx) error {
		row, err := tx.User.Create().SetName(u.Name).SetAge(u.Age).Save(ctx)
		if err != nil {
			return err
		}
		builders := make([]*ent.AddressCreate, len(emails))
		for i, e := range emails {
			builders[i] = tx.Address.Create().SetUserID(row.ID).SetEmail(e)
		}
		return entCreateAddresses(ctx, tx, builders)
	})
}
