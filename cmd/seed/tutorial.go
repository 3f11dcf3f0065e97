package main

import "github.com/inkwell-dev/inkwell/internal/repo"

// person is one of the people of the SQLAlchemy tutorials inkwell answers,
// with the emails and posts they have there (or would have).
type person struct {
	user   repo.NewUser
	emails []string
	posts  []post
}

type post struct {
	title, content string
	tags           []string
}

var tutorialPeople = []person{
	{repo.NewUser{Name: "Alice", Age: 30}, []string{"alice@example.com"}, []post{
		{"First Post", "This is my first post!", []string{"hello"}},
	}},
	{repo.NewUser{Name: "Bob", Age: 25}, []string{"bob@example.com"}, []post{
		{"Lazy or eager?", "Load related rows in one round trip.", []string{"orm", "performance"}},
	}},
	{repo.NewUser{Name: "Charlie", Age: 35}, []string{"charlie@example.com"}, []post{
		{"Pools", "Size the pool for the work, not the hope.", []string{"performance"}},
	}},
	{repo.NewUser{Name: "David", Age: 28}, []string{"david@example.com", "david@work.com"}, nil},
	{repo.NewUser{Name: "Eve", Age: 22}, []string{"eve@example.com"}, []post{
		{"Sessions", "Commit before you close.", []string{"orm"}},
	}},
	{repo.NewUser{Name: "Frank", Age: 40}, []string{"frank@example.com"}, nil},
	{repo.NewUser{Name: "Grace", Age: 45}, []string{"grace@example.com"}, nil},
	{repo.NewUser{Name: "Hannah", Age: 29}, []string{"hannah@example.com", "hannah@work.com"}, nil},
}

// displayed is the user the tutorial's display_user prints.
const displayed = "Hannah"
