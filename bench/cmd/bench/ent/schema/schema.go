// Package schema is the ent schema of inkwell's tables, for the benchmark's
// ent peer. The tables themselves come from inkwell's migrations.
package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// User holds the users table.
type User struct{ ent.Schema }

func (User) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "users"}}
}

func (User) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("id"),
		field.String("name"),
		field.Int32("age"),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("addresses", Address.Type),
		edge.To("posts", Post.Type),
	}
}

// Address holds the addresses table.
type Address struct{ ent.Schema }

func (Address) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "addresses"}}
}

func (Address) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("id"),
		field.Int64("user_id"),
		field.String("email"),
	}
}

func (Address) Edges() []ent.Edge {
	return []ent.Edge{edge.From("user", User.Type).Ref("addresses").Field("user_id").Unique().Required()}
}

// Post holds the posts table.
type Post struct{ ent.Schema }

func (Post) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "posts"}}
}

func (Post) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("id"),
		field.Int64("user_id"),
		field.String("title"),
		field.String("content"),
		field.Bool("published").Default(false),
		field.Float("rating").Default(0),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

func (Post) Edges() []ent.Edge {
	return []ent.Edge{edge.From("user", User.Type).Ref("posts").Field("user_id").Unique().Required()}
}

// EmailOwner holds the email_owners table: the address that owns each email
// key (db/schema/00007_keys_by_user.sql). ent needs one id field, so the key
// is the id, stored as email_key.
type EmailOwner struct{ ent.Schema }

func (EmailOwner) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "email_owners"}}
}

func (EmailOwner) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").StorageKey("email_key").Immutable(),
		field.Int64("user_id"),
		field.Int64("address_id"),
	}
}
