package repo_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
	"github.com/inkwell-dev/inkwell/internal/repo"
)

// The tutorials' user-management system: register a user with their emails in
// one transaction, refuse a taken email, and display the user with their
// addresses. The README shows this example.
func Example() {
	ctx := context.Background()
	databaseURL := pgtest.ExampleURL() // in your program: your own database URL

	pool, err := repo.OpenPool(ctx, databaseURL, repo.PoolConfig{MaxConns: 10})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	r := repo.New(pool)

	_, err = r.RegisterUser(ctx, repo.NewUser{Name: "Hannah", Age: 29}, "hannah@example.com", "hannah@work.com")
	if err != nil {
		log.Fatal(err)
	}
	_, err = r.RegisterUser(ctx, repo.NewUser{Name: "Impostor", Age: 30}, "Hannah@Example.com")
	fmt.Println("taken email refused:", errors.Is(err, repo.ErrConflict))

	u, err := r.FindUserByName(ctx, "Hannah", repo.Joined)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("User: %s, Age: %d\n", u.Name, u.Age)
	for _, a := range u.Addresses {
		fmt.Printf("Email: %s\n", a.Email)
	}
	// Output:
	// taken email refused: true
	// User: Hannah, Age: 29
	// Email: hannah@example.com
	// Email: hannah@work.com
}
