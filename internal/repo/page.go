package repo

import (
	"strconv"
	"time"
)

// Strategy says how related rows are loaded. Both take one round trip
// whatever the number of rows.
type Strategy int

const (
	// Joined loads parents and children in one query with a JOIN
	// (SQLAlchemy's joinedload): one round trip, parent columns repeated per child.
	Joined Strategy = iota
	// SelectIn loads the parents in one query and all their children in a
	// second (SQLAlchemy's selectinload), no parent columns repeated. The
	// second finds the children from the first's arguments, not its results,
	// so both travel in one batch: one round trip, one snapshot (REPEATABLE
	// READ; inside InTx, the transaction's).
	SelectIn
)

func (s Strategy) check() error {
	if s != Joined && s != SelectIn {
		return invalid("strategy", strconv.Itoa(int(s)), "must be Joined or SelectIn")
	}
	return nil
}

// UserOrder is the sort key of a list of users; ties are broken by id.
// UserQuery.Desc reverses both.
type UserOrder string

const (
	ByID        UserOrder = "id" // the default
	ByAge       UserOrder = "age"
	ByName      UserOrder = "name"       // by the column's collation
	ByCreatedAt UserOrder = "created_at" // with Desc: newest first
)

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// UserQuery selects a page of users. The zero value is the first page of
// all users by id, ascending.
type UserQuery struct {
	MinAge, MaxAge *int32 // inclusive bounds; nil: no bound
	// NamePrefix keeps the users whose name starts with it, character for
	// character (case and accents count); "": every name. ErrInvalid if it
	// is not valid UTF-8, holds a NUL or is longer than a name.
	NamePrefix string
	// CreatedSince keeps the users created at or after it; nil: all.
	CreatedSince *time.Time
	OrderBy      UserOrder // ByID (default), ByAge, ByName or ByCreatedAt
	Desc         bool      // descending (ties by id descending too); ByID and Desc: newest first
	Limit        int       // 0: DefaultPageSize; at most MaxPageSize
	After        string    // Page.Next of the previous page; "": first page
}

// PostQuery selects a page of posts, by id.
type PostQuery struct {
	UserID    *int64 // only this author's posts
	Published *bool  // only published (or unpublished) posts
	// Tag keeps the posts that have this tag (a name, as TagPost takes it:
	// trimmed, any case); "": all. ErrInvalid for a name no tag can have.
	Tag string
	// CreatedSince keeps the posts created at or after it; nil: all.
	CreatedSince *time.Time
	Desc         bool   // newest first
	Limit        int    // 0: DefaultPageSize; at most MaxPageSize
	After        string // Page.Next of the previous page; "": first page
}

// Page is one page of a keyset-paginated list.
type Page[T any] struct {
	// Items is never nil: an empty page has an empty slice (JSON []), whatever
	// the method and strategy.
	Items []T
	// Next fetches the following page when passed as the query's After;
	// it is "" on the last page.
	Next string
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
