package repo_test

import (
	"testing"

	"github.com/inkwell-dev/inkwell/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
