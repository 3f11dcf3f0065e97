package repo

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
)

// Strategy says how related rows are loaded. Both take a fixed number of
// round trips whatever the number of rows.
type Strategy int

const (
	// Joined loads parents and children in one query with a JOIN
	// (SQLAlchemy's joinedload): one round trip, parent columns repeated per child.
	Joined Strategy = iota
	// SelectIn loads the parents, then all their children in a second query
	// with = ANY($1) (SQLAlchemy's selectinload): two round trips, no repetition.
	SelectIn
)

func (s Strategy) check() error {
	if s != Joined && s != SelectIn {
		return invalid("strategy", strconv.Itoa(int(s)), "must be Joined or SelectIn")
	}
	return nil
}

// UserOrder is the sort key of a list of users; ties are broken by id.
type UserOrder string

const (
	ByID   UserOrder = "id" // the default
	ByAge  UserOrder = "age"
	ByName UserOrder = "name"
)

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// UserQuery selects a page of users. The zero value is the first page of
// all users by id.
type UserQuery struct {
	MinAge, MaxAge *int32    // inclusive bounds; nil: no bound
	OrderBy        UserOrder // ByID (default), ByAge or ByName, ascending
	Limit          int       // 0: DefaultPageSize; at most MaxPageSize
	After          string    // Page.Next of the previous page; "": first page
}

// PostQuery selects a page of posts, by id.
type PostQuery struct {
	UserID    *int64 // only this author's posts
	Published *bool  // only published (or unpublished) posts
	Limit     int    // 0: DefaultPageSize; at most MaxPageSize
	After     string // Page.Next of the previous page; "": first page
}

// Page is one page of a keyset-paginated list.
type Page[T any] struct {
	Items []T
	// Next fetches the following page when passed as the query's After;
	// it is "" on the last page.
	Next string
}

// cursor is the last row of a page: its sort key and id. Encoded, it is
// opaque to callers; decoded, it is checked, since it comes from outside.
type cursor struct {
	Order string `json:"o"` // a UserOrder, or "post"
	ID    int64  `json:"id"`
	Age   int32  `json:"age,omitempty"`
	Name  string `json:"name,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c) // cannot fail: plain fields
	return base64.RawURLEncoding.EncodeToString(b)
}

// firstPage is the cursor before every row: ids start at 1, ages at 0, and
// no name sorts before "".
func firstPage(order string) cursor { return cursor{Order: order, Age: -1} }

func decodeCursor(s string, order string) (cursor, error) {
	if s == "" {
		return firstPage(order), nil
	}
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return cursor{}, invalid("cursor", s, "is not a cursor this repository made")
	}
	if c.Order != order {
		return cursor{}, invalid("cursor", s, fmt.Sprintf("is for a list ordered by %q, not %q", c.Order, order))
	}
	return c, nil
}

// checkLimit returns the page size to use.
func checkLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultPageSize, nil
	case limit < 0 || limit > MaxPageSize:
		return 0, invalid("limit", strconv.Itoa(limit), "must be between 1 and 1000")
	}
	return limit, nil
}

// userPage is a UserQuery checked and decoded.
type userPage struct {
	q     UserQuery
	after cursor
	limit int
}

func (q UserQuery) check() (userPage, error) {
	if q.OrderBy == "" {
		q.OrderBy = ByID
	}
	if q.OrderBy != ByID && q.OrderBy != ByAge && q.OrderBy != ByName {
		return userPage{}, invalid("order", string(q.OrderBy), `must be "id", "age" or "name"`)
	}
	if q.MinAge != nil && q.MaxAge != nil && *q.MinAge > *q.MaxAge {
		return userPage{}, invalid("age range", fmt.Sprintf("%d-%d", *q.MinAge, *q.MaxAge), "has its minimum above its maximum")
	}
	limit, err := checkLimit(q.Limit)
	if err != nil {
		return userPage{}, err
	}
	after, err := decodeCursor(q.After, string(q.OrderBy))
	if err != nil {
		return userPage{}, err
	}
	return userPage{q: q, after: after, limit: limit}, nil
}

// fetch is the row count to ask for: one more than the page, to learn
// whether another page follows.
func (p userPage) fetch() int32 { return int32(p.limit) + 1 }

// pageOf cuts users to the page size and makes the Next cursor.
func (p userPage) pageOf(users []User) Page[User] {
	if len(users) <= p.limit {
		return Page[User]{Items: users}
	}
	users = users[:p.limit]
	last := users[len(users)-1]
	next := cursor{Order: string(p.q.OrderBy), ID: last.ID}
	switch p.q.OrderBy {
	case ByAge:
		next.Age = last.Age
	case ByName:
		next.Name = last.Name
	}
	return Page[User]{Items: users, Next: next.encode()}
}
