// Package cli is what every command under cmd/ does the same way: the
// connection flags and their environment fallbacks, the handling of a bad
// command line (one line on stderr, exit 2; --help prints the usage and the
// flags, exit 0), and a context cancelled on SIGINT or SIGTERM that records
// the signal, so that an interrupted command exits 130 or 143.
//
// It is configuration, so it lives beside cmd/: libraries take values, never
// flags or the environment.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// The environment variables the connection flags fall back to.
const (
	DatabaseURLEnv = "DATABASE_URL"
	MigrateURLEnv  = "MIGRATE_URL"
)

// Spec describes a command's command line.
type Spec struct {
	// Name is the command's name, the prefix of its error lines.
	Name string
	// Usage is what --help prints before the flags, and UsageError prints.
	Usage string
	// Dash is how the command's documentation spells its flags in messages:
	// "--" or, when empty, "-" (the flag package takes both).
	Dash string
	// Args says whether the command takes arguments after its flags; when
	// false, Parse refuses any.
	Args bool
}

// FlagSet is a command's flags, parsed the house way. Register the command's
// own flags on the embedded flag.FlagSet.
type FlagSet struct {
	*flag.FlagSet
	spec     Spec
	stderr   io.Writer
	getenv   func(string) string
	database *string
	migrate  *string
	least    []least
}

// least is a bound AtLeast put on an int flag.
type least struct {
	name  string
	value int
}

// New returns the flag set of the command spec describes; Parse and Fail
// write to stderr.
func New(spec Spec, stderr io.Writer) *FlagSet {
	if spec.Dash == "" {
		spec.Dash = "-"
	}
	fs := flag.NewFlagSet(spec.Name, flag.ContinueOnError)
	// The flag package would print a parse error and the usage itself: only
	// Fail speaks, and the usage is for --help.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &FlagSet{FlagSet: fs, spec: spec, stderr: stderr, getenv: os.Getenv}
}

// DatabaseURL registers --database-url, help "<what> (default
// $DATABASE_URL)"; after Parse the string holds the flag, else
// $DATABASE_URL, else "".
func (f *FlagSet) DatabaseURL(what string) *string {
	f.database = f.String("database-url", "", what+" (default $"+DatabaseURLEnv+")")
	return f.database
}

// MigrateURL registers --migrate-url, the schema owner's URL for migrations;
// after Parse the string holds the flag, else $MIGRATE_URL, else the
// database URL (register DatabaseURL too).
func (f *FlagSet) MigrateURL() *string {
	f.migrate = f.String("migrate-url", "",
		"the same database as the role that owns the schema, for migrations (default $"+MigrateURLEnv+", else "+f.spec.Dash+"database-url)")
	return f.migrate
}

// AtLeast makes Parse refuse a value below value for each int flag names
// (registered already): "--users -3: must be at least 0".
func (f *FlagSet) AtLeast(value int, names ...string) {
	for _, name := range names {
		fl := f.Lookup(name)
		if fl == nil {
			panic("cli: AtLeast of " + name + ", not a flag of " + f.spec.Name)
		}
		if _, ok := fl.Value.(flag.Getter).Get().(int); !ok {
			panic("cli: AtLeast of " + name + ", not an int flag")
		}
		f.least = append(f.least, least{name, value})
	}
}

// Parse parses args and fills the connection flags left empty from the
// environment. On --help (or -h) it prints the usage and the flags on stderr
// and returns flag.ErrHelp; on a bad flag, a value below its AtLeast, or an
// argument when the command takes none, it returns an error saying which,
// for Fail.
func (f *FlagSet) Parse(args []string) error {
	if err := f.FlagSet.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(f.stderr, f.spec.Usage)
			f.SetOutput(f.stderr)
			f.PrintDefaults()
			f.SetOutput(io.Discard)
			return err
		}
		return fmt.Errorf("%w (%s --help lists the flags)", err, f.spec.Name)
	}
	if !f.spec.Args && f.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.Arg(0))
	}
	for _, l := range f.least {
		if v := f.Lookup(l.name).Value.(flag.Getter).Get().(int); v < l.value {
			return fmt.Errorf("%s%s %d: must be at least %d", f.spec.Dash, l.name, v, l.value)
		}
	}
	if f.database != nil && *f.database == "" {
		*f.database = f.getenv(DatabaseURLEnv)
	}
	if f.migrate != nil && *f.migrate == "" {
		*f.migrate = f.getenv(MigrateURLEnv)
	}
	if f.migrate != nil && *f.migrate == "" && f.database != nil {
		*f.migrate = *f.database
	}
	return nil
}

// ErrNoDatabase is the error of a command run with no database URL.
func (f *FlagSet) ErrNoDatabase() error {
	return fmt.Errorf("no database: set %s or pass %sdatabase-url", DatabaseURLEnv, f.spec.Dash)
}

// Fail reports err, from Parse or the command's own check of its flags, and
// returns the exit code: 0 for flag.ErrHelp (Parse printed the usage), else
// 2 with one line on stderr, "name: err".
func (f *FlagSet) Fail(err error) int { return Fail(f.stderr, f.spec.Name, err) }

// Fail is FlagSet.Fail for the command name writing to stderr, for a
// command that parses its flags apart from where it reports their errors.
func Fail(stderr io.Writer, name string, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 2
}

// UsageError prints the usage on stderr and returns 2: for a command line
// whose flags parse but whose arguments make no command.
func (f *FlagSet) UsageError() int {
	fmt.Fprint(f.stderr, f.spec.Usage)
	return 2
}
