package main

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// gormPeer is GORM with its postgres driver (pgx underneath), default
// settings but for logging (off) and prepared statements (on, like pgx's
// default statement cache).
type gormPeer struct {
	db    *gorm.DB
	sqlDB *sql.DB
}

type gormUser struct {
	ID        int64
	Name      string
	Age       int32
	CreatedAt time.Time
	Addresses []gormAddress `gorm:"foreignKey:UserID"`
	Posts     []gormPost    `gorm:"foreignKey:UserID"`
}

func (gormUser) TableName() string { return "users" }

// gormAddress is keyed (user_id, id) as the table is: GORM saves a user's
// addresses with ON CONFLICT on the primary key, which must match the
// table's. id stays the identity column GORM reads back.
type gormAddress struct {
	UserID int64 `gorm:"primaryKey;autoIncrement:false"`
	ID     int64 `gorm:"primaryKey;autoIncrement"`
	Email  string
}

func (gormAddress) TableName() string { return "addresses" }

type gormPost struct {
	UserID  int64 `gorm:"primaryKey;autoIncrement:false"`
	ID      int64 `gorm:"primaryKey;autoIncrement"`
	Title   string
	Content string
}

func (gormPost) TableName() string { return "posts" }

// gormEmailOwner is the email_owners row of an address, its key computed in
// Go (emailKey).
type gormEmailOwner struct {
	EmailKey  string `gorm:"primaryKey"`
	UserID    int64
	AddressID int64
}

func (gormEmailOwner) TableName() string { return "email_owners" }

// gormOwners are the email_owners rows of users' saved addresses, to be
// created after them (their ids come back from the addresses' INSERT). A
// plain INSERT: a has-one association would save them with ON CONFLICT
// (email_key) DO UPDATE, which takes a mailbox from its owner.
func gormOwners(users []gormUser) []gormEmailOwner {
	var owners []gormEmailOwner
	for _, u := range users {
		for _, a := range u.Addresses {
			owners = append(owners, gormEmailOwner{EmailKey: emailKey(a.Email), UserID: a.UserID, AddressID: a.ID})
		}
	}
	return owners
}

func (p *gormPeer) name() string { return "GORM" }

func (p *gormPeer) open(ctx context.Context, db *database) error {
	var err error
	if p.sqlDB, err = db.sqlDB(ctx, pgx.QueryExecModeCacheStatement); err != nil {
		return err
	}
	p.db, err = gorm.Open(postgres.New(postgres.Config{Conn: p.sqlDB}), &gorm.Config{
		Logger: logger.Discard, PrepareStmt: true, SkipDefaultTransaction: true,
	})
	return err
}

func (p *gormPeer) close() { p.sqlDB.Close() }

func (p *gormPeer) insertUser(ctx context.Context, u user) (int64, error) {
	row := gormUser{Name: u.Name, Age: u.Age}
	err := p.db.WithContext(ctx).Create(&row).Error
	return row.ID, err
}

func (p *gormPeer) getUser(ctx context.Context, id int64) error {
	var row gormUser
	return p.db.WithContext(ctx).First(&row, id).Error
}

func (p *gormPeer) updateAge(ctx context.Context, id int64, age int32) error {
	return p.db.WithContext(ctx).Model(&gormUser{ID: id}).Update("age", age).Error
}

func toGorm(users []user) []gormUser {
	rows := make([]gormUser, len(users))
	for i, u := range users {
		rows[i] = gormUser{Name: u.Name, Age: u.Age}
	}
	return rows
}

func (p *gormPeer) bulkUsers(ctx context.Context, users []user) error {
	rows := toGorm(users)
	return p.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.CreateInBatches(rows, 1000).Error
	})
}

func (p *gormPeer) bulkUsersNaive(ctx context.Context, users []user) error {
	return p.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, u := range users {
			if err := tx.Create(&gormUser{Name: u.Name, Age: u.Age}).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

func (p *gormPeer) bulkGraph(ctx context.Context, graphs []graph) error {
	rows := make([]gormUser, len(graphs))
	for i, g := range graphs {
		rows[i] = gormUser{Name: g.User.Name, Age: g.User.Age}
		for _, e := range g.Emails {
			rows[i].Addresses = append(rows[i].Addresses, gormAddress{Email: e})
		}
	}
	return p.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.CreateInBatches(rows, 1000).Error; err != nil {
			return err
		}
		return tx.CreateInBatches(gormOwners(rows), 1000).Error
	})
}

func gormCount(users []gormUser, posts bool) int {
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

// listJoined: GORM's Joins loads belongs-to and has-one relations only; a
// has-many relation cannot be loaded with a JOIN.
func (p *gormPeer) listJoined(ctx context.Context, limit int) (int, error) { return 0, errUnsupported }

func (p *gormPeer) listSelectIn(ctx context.Context, limit int) (int, error) {
	var users []gormUser
	err := p.db.WithContext(ctx).Preload("Addresses").Order("id").Limit(limit).Find(&users).Error
	return gormCount(users, false), err
}

func (p *gormPeer) listNaive(ctx context.Context, limit int) (int, error) {
	var users []gormUser
	if err := p.db.WithContext(ctx).Order("id").Limit(limit).Find(&users).Error; err != nil {
		return 0, err
	}
	for i := range users {
		if err := p.db.WithContext(ctx).Where("user_id = ?", users[i].ID).Order("id").Find(&users[i].Addresses).Error; err != nil {
			return 0, err
		}
	}
	return gormCount(users, false), nil
}

func (p *gormPeer) pageWithPosts(ctx context.Context, afterID int64, limit int) (int, error) {
	var users []gormUser
	err := p.db.WithContext(ctx).Preload("Posts").Where("id > ?", afterID).Order("id").Limit(limit).Find(&users).Error
	return gormCount(users, true), err
}

func (p *gormPeer) register(ctx context.Context, u user, emails []string) error {
	row := gormUser{Name: u.Name, Age: u.Age}
	for _, e := range emails {
		row.Addresses = append(row.Addresses, gormAddress{Email: e})
	}
	return p.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return tx.Create(gormOwners([]gormUser{row})).Error
	})
}
