package repo

import (
	"time"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// User is a person with an account. Addresses and Posts are nil unless the
// method that returned the user loads them (its name says so); when loaded
// and there are none, they are empty, not nil.
type User struct {
	ID        int64
	Name      string
	Age       int32
	CreatedAt time.Time
	Addresses []Address
	Posts     []Post
}

// Address is one of a user's email addresses, unique ignoring case.
type Address struct {
	ID     int64
	UserID int64
	Email  string
}

// Profile is the one-to-one companion of a user.
type Profile struct {
	UserID  int64
	Bio     string
	Website *string // nil: none given
}

// Post is a blog post. Author and Tags are loaded by the post methods that say
// so; in User.Posts, Author is nil (the user is the author).
type Post struct {
	ID        int64
	UserID    int64
	Title     string
	Content   string
	Published bool
	Rating    float64 // 0 to 5
	CreatedAt time.Time
	Author    *User
	Tags      []Tag
}

// Tag labels posts; names are lower-case slugs such as "go" or "how-to".
type Tag struct {
	ID   int64
	Name string
}

// NewUser is what CreateUser, RegisterUser and BulkCreateUsers need.
type NewUser struct {
	Name string
	Age  int32
}

func (u NewUser) validate() error {
	if err := checkName(u.Name); err != nil {
		return err
	}
	return checkAge(u.Age)
}

// UserPatch changes the fields that are not nil and keeps the others.
type UserPatch struct {
	Name *string
	Age  *int32
}

// NewPost is what CreatePost needs.
type NewPost struct {
	UserID    int64
	Title     string
	Content   string
	Published bool
	Rating    float64
}

// PostPatch changes the fields that are not nil and keeps the others.
type PostPatch struct {
	Title     *string
	Content   *string
	Published *bool
	Rating    *float64
}

func userFromDB(u dbgen.User) User {
	return User{ID: u.ID, Name: u.Name, Age: u.Age, CreatedAt: u.CreatedAt}
}

func addressFromDB(a dbgen.Address) Address {
	return Address{ID: a.ID, UserID: a.UserID, Email: a.Email}
}

func profileFromDB(p dbgen.Profile) Profile {
	return Profile{UserID: p.UserID, Bio: p.Bio, Website: p.Website}
}

func postFromDB(p dbgen.Post) Post {
	return Post{
		ID: p.ID, UserID: p.UserID, Title: p.Title, Content: p.Content,
		Published: p.Published, Rating: p.Rating, CreatedAt: p.CreatedAt,
	}
}

func tagFromDB(t dbgen.Tag) Tag {
	return Tag{ID: t.ID, Name: t.Name}
}

// convert maps fromDB over a slice.
func convert[S, D any](rows []S, fromDB func(S) D) []D {
	out := make([]D, len(rows))
	for i, row := range rows {
		out[i] = fromDB(row)
	}
	return out
}
