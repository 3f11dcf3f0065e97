package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/peterldowns/pgtestdb"

	"github.com/inkwell-dev/inkwell/internal/migrate"
	"github.com/inkwell-dev/inkwell/internal/pgcluster"
)

// CitusEnv is the environment variable that runs the tests against a Citus
// cluster (a coordinator and two workers) that Main starts, instead of one
// PostgreSQL server.
const CitusEnv = "INKWELL_TEST_CITUS"

// Citus reports whether the tests run against a Citus cluster (CitusEnv).
func Citus() bool { return os.Getenv(CitusEnv) != "" }

// citus is the cluster Main started when CitusEnv is set.
var citus *pgcluster.Citus

// Isolation on Citus. A template clone is what keeps tests apart on one
// server, but Citus refuses CREATE DATABASE ... TEMPLATE other than template1,
// and a new Citus database costs seconds (the database on every node, the
// extension on every node, the nodes registered, the migrations, the shards).
// So each test gets a database of its own for as long as it runs, taken from a
// pool of migrated ones: when the test ends, its connections are ended, every
// table is emptied and its identities restarted, and the database returns to
// the pool only if its catalog (schema, rights, functions, sequences,
// distribution, goose's versions) is then exactly what the migrations made;
// a test that changed any of it leaves its database to be dropped. A test
// thus sees what a clone would show it: a freshly migrated, empty database.
type citusPool struct {
	mu       sync.Mutex
	free     map[string][]string // migrations' hash -> databases ready for a test
	baseline map[string]string   // migrations' hash -> fingerprint of a freshly migrated database
	giving   map[string]int      // migrations' hash -> databases being emptied
	returned *sync.Cond          // on mu: a give ended
	made     int
	pending  sync.WaitGroup // gives under way
	errs     []error        // of gives, reported by Main
	// ddl runs CREATE, ALTER and DROP DATABASE one at a time: Citus
	// propagates them to the workers, where two at once can fail with
	// "tuple concurrently updated".
	ddl sync.Mutex
}

var databases = newCitusPool()

func newCitusPool() *citusPool {
	p := &citusPool{free: map[string][]string{}, baseline: map[string]string{}, giving: map[string]int{}}
	p.returned = sync.NewCond(&p.mu)
	return p
}

func startCitus() (*pgcluster.Citus, error) {
	dir, err := mkdirOwned("inkwell-citus-")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := pgcluster.StartCitus(ctx, dir, 0, pgcluster.Options{Throwaway: true})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// citusDatabase returns the name of a database of tb's own, migrated with
// fsys by the test role (pgtestdb's), which owns it.
func citusDatabase(tb pgtestdb.TB, fsys fs.FS) string {
	tb.Helper()
	hash, err := migrator{fsys}.Hash()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	name, err := databases.take(hash, fsys)
	if err != nil {
		tb.Fatalf("pgtest: citus: %v", err)
	}
	// Emptying and checking the database takes a while; the next test need
	// not wait for it unless the pool has no other database (Main waits for all).
	tb.Cleanup(func() {
		databases.mu.Lock()
		databases.giving[hash]++
		databases.mu.Unlock()
		databases.pending.Add(1)
		go func() {
			defer databases.pending.Done()
			err := databases.give(hash, name)
			databases.mu.Lock()
			defer databases.mu.Unlock()
			if err != nil {
				databases.errs = append(databases.errs, err)
			}
			databases.giving[hash]--
			databases.returned.Broadcast()
		}()
	})
	return name
}

// testConfig is pgtestdb's test role on database name on the coordinator.
func testConfig(name string) pgtestdb.Config {
	role := pgtestdb.DefaultRole()
	conf := server
	conf.User, conf.Password, conf.Database = role.Username, role.Password, name
	return conf
}

// wait waits for the databases being given back and returns their errors.
func (p *citusPool) wait() error {
	p.pending.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.errs...)
}

// take returns a free database migrated with fsys, waiting for one being
// given back when there is, or else makes one.
func (p *citusPool) take(hash string, fsys fs.FS) (string, error) {
	p.mu.Lock()
	for len(p.free[hash]) == 0 && p.giving[hash] > 0 {
		p.returned.Wait()
	}
	if free := p.free[hash]; len(free) > 0 {
		name := free[len(free)-1]
		p.free[hash] = free[:len(free)-1]
		p.mu.Unlock()
		return name, nil
	}
	p.made++
	name := fmt.Sprintf("inkwell_citus_%d", p.made)
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := p.create(ctx, name, fsys); err != nil {
		return "", err
	}
	print, err := fingerprint(ctx, name)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.baseline[hash]; !ok {
		p.baseline[hash] = print
	}
	return name, nil
}

// create makes database name on every node, owned by the test role, and
// migrates it as that role.
func (p *citusPool) create(ctx context.Context, name string, fsys fs.FS) error {
	if err := ensureTestRole(ctx); err != nil {
		return err
	}
	role := pgtestdb.DefaultRole()
	p.ddl.Lock()
	err := citus.CreateDatabase(ctx, name)
	if err == nil {
		err = superuser(ctx, name,
			"ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" OWNER TO "+pgx.Identifier{role.Username}.Sanitize())
	}
	p.ddl.Unlock()
	if err != nil {
		return err
	}
	conf := testConfig(name)
	conn, err := conf.Connect()
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := migrate.UpFS(ctx, conn, fsys); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	return nil
}

var testRole sync.Once
var testRoleErr error

// ensureTestRole creates pgtestdb's test role on the coordinator (Citus
// propagates it to the workers), as pgtestdb does on one server.
func ensureTestRole(ctx context.Context) error {
	testRole.Do(func() {
		role := pgtestdb.DefaultRole()
		testRoleErr = superuser(ctx, "postgres", fmt.Sprintf(`DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN
				CREATE ROLE %s LOGIN PASSWORD '%s' %s;
			END IF; END $$`, role.Username, pgx.Identifier{role.Username}.Sanitize(), role.Password, role.Capabilities))
	})
	return testRoleErr
}

// give ends the test's sessions on database name, empties it, and returns it
// to the pool when its catalog is as the migrations left it; otherwise it
// drops it.
func (p *citusPool) give(hash, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := superuser(ctx, "postgres",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+name+"' AND pid <> pg_backend_pid() AND backend_type = 'client backend'"); err != nil {
		return err
	}
	err := superuser(ctx, name, emptyTables)
	var print string
	if err == nil {
		print, err = fingerprint(ctx, name)
	}
	p.mu.Lock()
	same := err == nil && print == p.baseline[hash]
	if same {
		p.free[hash] = append(p.free[hash], name)
	}
	p.mu.Unlock()
	if same {
		return nil
	}
	// Citus's own sessions on the workers can keep DROP DATABASE from
	// succeeding ("is being accessed by other users"); the database is out
	// of the pool either way, and goes with the cluster.
	p.ddl.Lock()
	defer p.ddl.Unlock()
	_ = superuser(ctx, "postgres", "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return nil
}

// emptyTables is what reset_tables does, without needing it to exist: every
// table of the public schema but goose's, emptied in one TRUNCATE, identities
// restarted.
const emptyTables = `DO $$ DECLARE tables text; BEGIN
	SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ')
	INTO tables
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
	  AND c.relname <> 'goose_db_version'
	  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e');
	IF tables IS NOT NULL THEN
		EXECUTE 'TRUNCATE ' || tables || ' RESTART IDENTITY';
	END IF;
END $$`

// fingerprintQuery describes what a test could change in a database, other
// than rows: the schemas, relations, columns, constraints, indexes,
// triggers, functions, rights and owners, sequences' positions, Citus's
// distribution, the database's settings and goose's versions.
const fingerprintQuery = `SELECT md5(concat_ws(E'\n',
	(SELECT string_agg(format('%s %s %s', nspname, nspowner::regrole, nspacl), ',' ORDER BY nspname) FROM pg_namespace),
	(SELECT string_agg(format('%s %s %s %s %s %s', c.oid::regclass, c.relkind, c.relowner::regrole, c.relacl, c.reloptions, c.relpersistence), ',' ORDER BY c.oid::regclass::text)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')),
	(SELECT string_agg(format('%s %s %s %s %s %s', a.attrelid::regclass, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, pg_get_expr(d.adbin, d.adrelid)), ',' ORDER BY a.attrelid::regclass::text, a.attnum)
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped),
	(SELECT string_agg(format('%s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)), ',' ORDER BY conrelid::regclass::text, conname)
		FROM pg_constraint WHERE connamespace = 'public'::regnamespace),
	(SELECT string_agg(indexdef, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'),
	(SELECT string_agg(format('%s %s', tgrelid::regclass, tgname), ',' ORDER BY tgrelid::regclass::text, tgname) FROM pg_trigger WHERE NOT tgisinternal),
	(SELECT string_agg(format('%s %s %s %s', p.oid::regprocedure, p.proowner::regrole, p.proacl, md5(p.prosrc)), ',' ORDER BY p.oid::regprocedure::text)
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')),
	(SELECT string_agg(format('%s.%s %s', schemaname, sequencename, last_value), ',' ORDER BY schemaname, sequencename) FROM pg_sequences),
	(SELECT string_agg(format('%s %s %s', extname, extversion, extowner::regrole), ',' ORDER BY extname) FROM pg_extension),
	(SELECT string_agg(format('%s', setconfig), ',') FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = current_database()),
	(SELECT format('%s %s', datdba::regrole, datacl) FROM pg_database WHERE datname = current_database()),
	(SELECT string_agg(format('%s %s %s', logicalrelid, partmethod, colocationid), ',' ORDER BY logicalrelid::text) FROM pg_dist_partition),
	(SELECT string_agg(format('%s %s', version_id, is_applied), ',' ORDER BY id) FROM goose_db_version)
))`

// fingerprint returns the digest of fingerprintQuery on database name.
func fingerprint(ctx context.Context, name string) (string, error) {
	url, err := citus.URL(name)
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	var print string
	if err := conn.QueryRow(ctx, fingerprintQuery).Scan(&print); err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", name, err)
	}
	return print, nil
}

// superuser runs statements on database of the coordinator as the superuser.
func superuser(ctx context.Context, database string, statements ...string) error {
	return citus.Coordinator.Exec(ctx, database, statements...)
}
