package repo

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

// DefaultMaintenanceWorkMem is the maintenance_work_mem an initial load
// builds its keys and indexes with when InitialLoadOptions does not say.
const DefaultMaintenanceWorkMem = "512MB"

// DefaultMaintenanceWorkers is the max_parallel_maintenance_workers an
// initial load builds its keys and indexes with when InitialLoadOptions does
// not say.
const DefaultMaintenanceWorkers = 2

// InitialLoadOptions shape InitialLoadGraphs.
type InitialLoadOptions struct {
	// MaintenanceWorkMem is maintenance_work_mem while the keys and indexes
	// are built ("1GB"); "" means DefaultMaintenanceWorkMem. A value the
	// server does not accept fails the load with ErrInvalid, nothing changed.
	MaintenanceWorkMem string
	// MaintenanceWorkers is max_parallel_maintenance_workers for the builds;
	// 0 means DefaultMaintenanceWorkers, negative means none.
	MaintenanceWorkers int
	// Progress, if set, is called as the load goes: during copying after
	// each COPY (a part of one table's rows, up to about 4 MiB encoded), then once
	// per table, key, index and foreign key. Calls never overlap.
	Progress func(LoadProgress)

	partBytes int // 0 means partBytes; set by tests only
}

// LoadPhase is a phase of an initial load.
type LoadPhase string

// The phases of an initial load, in order.
const (
	PhaseCopying     LoadPhase = "copying"
	PhaseIndexes     LoadPhase = "building indexes"
	PhaseForeignKeys LoadPhase = "adding foreign keys"
	PhaseAnalyzing   LoadPhase = "analyzing"
)

// LoadProgress is where an initial load is.
type LoadProgress struct {
	Phase LoadPhase
	// Step is the table being copied, or the key, index or foreign key
	// just built (its name).
	Step string
	// Done and Total count the steps of the phase: tables copied, keys and
	// indexes built, foreign keys added. While the rows are copied (all
	// tables at once, a part of a table after another), calls have Done 0 and
	// Rows counts the rows copied; then a call for each table, Done 1 to Total,
	// all at the end of the copy (the tables' times are not their own).
	// Each later phase starts with a call whose Done is 0.
	Done, Total int
	// Rows counts the rows sent so far, of all tables (those BulkResult
	// counts), not Step's; nothing is committed before the end.
	Rows BulkResult
	// TableRows, in a copying call with Done > 0, is the rows copied into
	// Step's table alone; 0 otherwise.
	TableRows int64
	// Starved is, while copying, how long the server has had no part to
	// copy because the client was still making it: near zero means the
	// client's work hides behind the server's.
	Starved time.Duration
}

// initialTables are the tables InitialLoadGraphs writes. Their rows are
// copied in parts, a table's part as soon as it is full, but never before
// the rows its rows refer to (the foreign keys in the catalog say which):
// see produce.
var initialTables = []string{"users", "addresses", "email_owners", "profiles", "posts", "tags", "post_tags"}

// InitialLoadGraphs loads users with their addresses, profiles, posts and
// tags into empty tables the fast way, pg_restore's order: in one
// transaction it takes the tables' keys, unique constraints, indexes and
// foreign keys off (their definitions read from the catalog, with the foreign
// keys of other tables that refer to them), copies the rows (COPY FREEZE after
// a TRUNCATE), then builds the keys and indexes, adds the foreign keys back
// (each checked in one pass) and runs ANALYZE. Ids continue from where the
// tables' identity sequences stand (restarted or not: the first is taken with
// nextval), which end past the loaded ids and never move back. What it puts
// back is as it was, storage parameters, tablespaces, comments, statistics
// targets and NOT VALID included (RELIABILITY.md has the list).
//
// It is all or nothing: however it stops (an error, ctx ending, the client or
// the server going away), the transaction rolls back, the schema is as it was
// and no row stays. It holds an ACCESS EXCLUSIVE lock on the tables until it
// ends. Graphs are read once, in order, by a goroutine that validates and
// encodes the next rows while the server copies the ones before; memory
// stays flat (a few parts of encoded rows), and nothing goes to files.
//
// Errors: ErrLoadRefused when the load cannot start: with ErrPermission
// when the role does not own the tables (DDL needs the schema owner's role),
// with ErrNotEmpty when a table has rows, alone when an object depends on a
// key or index it takes off (a view using a table's key); BulkInsertGraphs
// may still add the rows. ErrInvalid for a row that validation
// refuses (a *RowError naming its position) or for options the server does
// not accept. A row that breaks a key or foreign key is found when the
// constraint comes back: a *RowError naming the table, matching ErrConflict
// (a duplicate, the key in the message) or ErrNotFound (a missing
// reference), its Position 0. The context's errors, ErrUnavailable and
// ErrClosed as for any statement. Nothing is written in any of these cases.
func (r *Repo) InitialLoadGraphs(ctx context.Context, graphs iter.Seq2[UserGraph, error], opts InitialLoadOptions) (BulkResult, error) {
	defer wrote(ctx)
	var res BulkResult
	// READ COMMITTED whatever the server's default: the statements after
	// the lock must see what a load that held it before committed.
	err := r.InTx(ctx, TxOptions{MaxAttempts: 1, Isolation: ReadCommitted}, func(tx *Repo) error {
		var err error
		res, err = initialLoad(ctx, tx.tx, graphs, opts)
		return err
	})
	if err != nil {
		return BulkResult{}, fmt.Errorf("initial load: %w", err)
	}
	return res, nil
}

// schemaObject is a key, index or foreign key taken off for the load.
type schemaObject struct {
	table   string // quoted, as regclass prints it
	name    string // quoted
	def     string // pg_get_constraintdef or pg_get_indexdef
	comment string // "" for none
	index   bool   // an index, not a constraint
	// What else the catalog says of a key's or index's index: DROP takes
	// it, and neither pg_get_constraintdef nor pg_get_indexdef says it.
	clustered, replicaIdentity bool
	indexComment               string  // a key's index's own comment, "" for none
	tablespace                 string  // "" for the database's
	statistics                 []int32 // each column's statistics target, -1 for the default
	// A foreign key NOT VALID of a loaded table: it comes back NOT VALID,
	// after a check of the loaded rows (see restore).
	checkRows bool
}

func (o schemaObject) create() string {
	if o.index {
		return o.def
	}
	return "ALTER TABLE " + o.table + " ADD CONSTRAINT " + o.name + " " + o.def
}

func (o schemaObject) drop() string {
	if o.index {
		return "DROP INDEX " + o.name
	}
	return "ALTER TABLE " + o.table + " DROP CONSTRAINT " + o.name
}

// after returns the statements that put back what DROP took besides the
// definition: comments, the index columns' statistics targets, CLUSTER ON,
// REPLICA IDENTITY. (The tablespace is restore's.)
func (o schemaObject) after(index string) []string {
	var out []string
	if o.indexComment != "" {
		out = append(out, "COMMENT ON INDEX "+index+" IS "+quoteLiteral(o.indexComment))
	}
	for i, target := range o.statistics {
		if target >= 0 {
			out = append(out, fmt.Sprintf("ALTER INDEX %s ALTER COLUMN %d SET STATISTICS %d", index, i+1, target))
		}
	}
	if o.comment != "" {
		kind := "INDEX " + o.name
		if !o.index {
			kind = "CONSTRAINT " + o.name + " ON " + o.table
		}
		out = append(out, "COMMENT ON "+kind+" IS "+quoteLiteral(o.comment))
	}
	if o.clustered {
		out = append(out, "ALTER TABLE "+o.table+" CLUSTER ON "+index)
	}
	if o.replicaIdentity {
		out = append(out, "ALTER TABLE "+o.table+" REPLICA IDENTITY USING INDEX "+index)
	}
	return out
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// loadTable is one table of an initial load: where its rows go and how
// they are counted.
type loadTable struct {
	name    string
	columns string // the COPY column list
	freeze  bool   // COPY FREEZE is allowed (a plain table)
	count   *int64
	// The tables (indexes in the load's tables) its foreign keys refer to.
	parents []int
	// The ids it hands out, from its identity sequence ("" when it has none).
	sequence string
	next     int64 // the first id to hand out
	step     int64 // the sequence's increment: the ids go its way (down when < 0)
	last     int64 // the last id handed out
	used     bool  // some id was handed out
}

func initialLoad(ctx context.Context, tx pgx.Tx, graphs iter.Seq2[UserGraph, error], opts InitialLoadOptions) (BulkResult, error) {
	var res BulkResult  // rows read from graphs
	var sent BulkResult // rows copied
	progress := func(p LoadProgress) {
		if opts.Progress != nil {
			if p.Rows == (BulkResult{}) {
				p.Rows = sent
			}
			opts.Progress(p)
		}
	}
	exec := func(sql string, args ...any) error {
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			return dbError(ctx, err)
		}
		return nil
	}

	q := newQueries(tx)
	// Rights first: nothing is locked for a role that could not go on.
	notOwned, err := q.InitialLoadNotOwned(ctx, initialTables)
	if err != nil {
		return res, dbError(ctx, err)
	}
	if len(notOwned) > 0 {
		owners := map[string][]string{}
		for _, n := range notOwned {
			owners[n.Owner] = append(owners[n.Owner], n.TableName)
		}
		var which []string
		for _, owner := range slices.Sorted(maps.Keys(owners)) {
			which = append(which, "owned by "+owner+" ("+strings.Join(owners[owner], ", ")+")")
		}
		return res, fmt.Errorf("%w: %w: role %s cannot alter the tables %s: taking keys, indexes and foreign keys "+
			"off and putting them back needs the owner's role, or a role that is a member of it",
			ErrLoadRefused, ErrPermission, notOwned[0].Role, strings.Join(which, "; "))
	}

	// The loaded tables and those whose foreign keys refer to them are
	// locked before anything else of the schema is read. Another load may
	// hold the lock: everything read after it is read by statements that
	// start once that load has ended (READ COMMITTED: a snapshot each), so
	// they see its rows, and its keys and indexes as it put them back.
	referrers, err := q.InitialLoadReferrers(ctx, initialTables)
	if err != nil {
		return res, dbError(ctx, err)
	}
	lock := slices.Concat(initialTables, referrers)
	if err := exec("LOCK TABLE " + strings.Join(lock, ", ") + " IN ACCESS EXCLUSIVE MODE"); err != nil {
		return res, err
	}
	nonEmpty, err := q.InitialLoadNonEmpty(ctx)
	if err != nil {
		return res, dbError(ctx, err)
	}
	if nonEmpty != "" {
		return res, fmt.Errorf("%w: %w: table %s has rows: an initial load needs empty tables", ErrLoadRefused, ErrNotEmpty, nonEmpty)
	}
	// Keys, indexes and foreign keys, read under the lock.
	objects, err := readSchema(ctx, q)
	if err != nil {
		return res, err
	}
	partitionKeys, err := q.InitialLoadPartitionKeys(ctx, initialTables)
	if err != nil {
		return res, dbError(ctx, err)
	}

	// In initialTables' order.
	tables := []*loadTable{
		{name: "users", columns: "id, name, age", count: &res.Users},
		{name: "addresses", columns: "id, user_id, email", count: &res.Addresses},
		// One row per address; internal, so not a count of its own.
		{name: "email_owners", columns: "email_key, user_id, address_id"},
		{name: "profiles", columns: "user_id, bio, website", count: &res.Profiles},
		{name: "posts", columns: "id, user_id, title, content, published, rating", count: &res.Posts},
		{name: "tags", columns: "id, name"},
		{name: "post_tags", columns: "user_id, post_id, tag_id", count: &res.PostTags},
	}
	// Before the foreign keys come off: they say which tables' rows go first.
	facts, err := q.InitialLoadTables(ctx, initialTables)
	if err != nil {
		return res, dbError(ctx, err)
	}
	for _, f := range facts {
		t := tables[slices.Index(initialTables, f.Name)]
		t.freeze, t.sequence, t.next, t.step = f.Plain, f.Sequence, f.NextID, f.Increment
		for _, n := range f.Parents {
			t.parents = append(t.parents, int(n)-1)
		}
	}

	// Off, foreign keys first: they depend on the keys.
	for _, o := range slices.Backward(objects) {
		if err := exec(o.drop()); err != nil {
			return res, dropRefused(o.name, err)
		}
	}
	// In this transaction, so that COPY may FREEZE.
	if err := exec("TRUNCATE " + strings.Join(initialTables, ", ")); err != nil {
		return res, err
	}

	size := opts.partBytes
	if size <= 0 {
		size = partBytes
	}
	if err := copyGraphs(ctx, tx, graphs, tables, size, &res, &sent, progress); err != nil {
		return res, err
	}
	// Sequences only move forward: setval is not transactional, so a load
	// that rolls back leaves a gap, never an id handed out twice.
	for _, t := range tables {
		if t.sequence == "" || !t.used {
			continue
		}
		if err := q.InitialLoadAdvanceSequence(ctx, dbgen.InitialLoadAdvanceSequenceParams{Sequence: t.sequence, Last: t.last}); err != nil {
			return res, dbError(ctx, err)
		}
	}

	workMem := opts.MaintenanceWorkMem
	if workMem == "" {
		workMem = DefaultMaintenanceWorkMem
	}
	workers := opts.MaintenanceWorkers
	if workers == 0 {
		workers = DefaultMaintenanceWorkers
	}
	if err := q.InitialLoadMaintenance(ctx, dbgen.InitialLoadMaintenanceParams{
		WorkMem: workMem, Workers: strconv.Itoa(max(workers, 0)),
	}); err != nil {
		return res, fmt.Errorf("maintenance_work_mem %q, max_parallel_maintenance_workers %d: %w", workMem, workers, dbError(ctx, err))
	}

	var keys, fks []schemaObject
	for _, o := range objects {
		if strings.HasPrefix(o.def, "FOREIGN KEY") {
			fks = append(fks, o)
		} else {
			keys = append(keys, o)
		}
	}
	progress(LoadProgress{Phase: PhaseIndexes, Total: len(keys)})
	for i, o := range keys {
		if err := restore(ctx, tx, o); err != nil {
			return res, err
		}
		progress(LoadProgress{Phase: PhaseIndexes, Step: o.name, Done: i + 1, Total: len(keys)})
	}
	// Each foreign key is checked by one anti-join of the two tables. Both
	// sides usually have an index that leads with the key's columns (the
	// referenced key, and the referencing table's own key or index), read in
	// order without visiting the heap (COPY FREEZE marked every page visible):
	// a merge of the two index scans. Left to itself, without statistics yet,
	// the planner hashes instead, well over twice as slow (BENCHMARKS.md,
	// "Initial load foreign-key checks"). SET LOCAL: for the rest of the
	// load only (ANALYZE and COMMIT).
	if err := exec("SET LOCAL enable_hashjoin = off"); err != nil {
		return res, err
	}
	progress(LoadProgress{Phase: PhaseForeignKeys, Total: len(fks)})
	for i, o := range fks {
		if err := restore(ctx, tx, o); err != nil {
			return res, err
		}
		progress(LoadProgress{Phase: PhaseForeignKeys, Step: o.name, Done: i + 1, Total: len(fks)})
	}
	if err := restorePartitionKeys(ctx, tx, partitionKeys); err != nil {
		return res, err
	}
	progress(LoadProgress{Phase: PhaseAnalyzing, Total: 1})
	if err := exec("ANALYZE " + strings.Join(initialTables, ", ")); err != nil {
		return res, err
	}
	progress(LoadProgress{Phase: PhaseAnalyzing, Step: strings.Join(initialTables, ", "), Done: 1, Total: 1})
	return res, nil
}

// readSchema reads the keys, indexes and foreign keys an initial load
// takes off, in the order they are put back.
func readSchema(ctx context.Context, q *dbgen.Queries) ([]schemaObject, error) {
	constraints, err := q.InitialLoadConstraints(ctx, initialTables)
	if err != nil {
		return nil, dbError(ctx, err)
	}
	indexes, err := q.InitialLoadIndexes(ctx, initialTables)
	if err != nil {
		return nil, dbError(ctx, err)
	}
	var keys, fks, idx []schemaObject
	for _, c := range constraints {
		o := schemaObject{table: c.TableName, name: c.Name, def: keyDefinition(c), comment: c.Comment,
			clustered: c.Clustered, replicaIdentity: c.ReplicaIdentity,
			indexComment: c.IndexComment, tablespace: c.Tablespace, statistics: c.Statistics,
			checkRows: c.ForeignKey && !c.Validated && slices.Contains(initialTables, c.TableName)}
		if c.ForeignKey {
			fks = append(fks, o)
		} else {
			keys = append(keys, o)
		}
	}
	for _, i := range indexes {
		idx = append(idx, schemaObject{table: i.TableName, name: i.Name, def: i.Definition, comment: i.Comment,
			index: true, clustered: i.Clustered, replicaIdentity: i.ReplicaIdentity,
			tablespace: i.Tablespace, statistics: i.Statistics})
	}
	return slices.Concat(keys, idx, fks), nil
}

// keyDefinition is c's definition with its index's storage parameters,
// which pg_get_constraintdef leaves out of a primary or unique key. They
// go in the definition, not in an ALTER INDEX SET after it, so that the
// index is built with them (a fillfactor shapes the build); the grammar
// puts WITH before DEFERRABLE and INITIALLY DEFERRED, which the definition
// ends with when c has them. (ADD CONSTRAINT ... USING INDEX of an index
// built from pg_get_indexdef would take them too, but not for an
// exclusion constraint, nor on a partitioned table.)
func keyDefinition(c dbgen.InitialLoadConstraintsRow) string {
	if c.Storage == "" {
		return c.Definition
	}
	var tail string
	if c.Deferrable {
		tail += " DEFERRABLE"
	}
	if c.Deferred {
		tail += " INITIALLY DEFERRED"
	}
	return strings.TrimSuffix(c.Definition, tail) + " WITH (" + c.Storage + ")" + tail
}

// restore puts o back. A row that breaks it fails with a RowError naming the
// table (and, in the message, the key).
func restore(ctx context.Context, tx pgx.Tx, o schemaObject) error {
	// Built where it was: neither definition names a tablespace, and
	// default_tablespace places a key's index as well as an index (moving
	// it after the build would copy it). Set each time, '' too: a
	// default_tablespace of the role's or the database's must not move an
	// index that was in the database's tablespace. It lasts until the
	// load's end, which builds nothing else.
	if err := newQueries(tx).InitialLoadDefaultTablespace(ctx, o.tablespace); err != nil {
		return fmt.Errorf("put back %s: %w", o.name, dbError(ctx, err))
	}
	if _, err := tx.Exec(ctx, o.create()); err != nil {
		return fmt.Errorf("put back %s: %w", o.name, rowsError(ctx, o, err))
	}
	// A foreign key NOT VALID checks every row written after it was added,
	// as the loaded rows would have been by INSERT, but ADD CONSTRAINT ...
	// NOT VALID checks none: they are checked by a VALIDATE that is rolled
	// back, so that it stays NOT VALID. The table was empty: its rows are
	// all loaded ones. (Another table's rows were there before, unchecked:
	// they stay so.)
	if o.checkRows {
		if err := validated(ctx, tx, o); err != nil {
			return err
		}
	}
	// A key's index takes the key's name.
	for _, s := range o.after(o.name) {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("put back %s: %w", o.name, dbError(ctx, err))
		}
	}
	return nil
}

// rowsError is a RowError for err, which a row broke while o was put back
// or checked, naming the table.
func rowsError(ctx context.Context, o schemaObject, err error) error {
	table := o.table
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.TableName != "" {
		table = pgErr.TableName
	}
	return &RowError{Table: table, Err: dbError(ctx, err)}
}

// validated checks the rows of o's table against it and leaves it as it
// was (VALIDATE in a savepoint, rolled back).
func validated(ctx context.Context, tx pgx.Tx, o schemaObject) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return fmt.Errorf("check %s: %w", o.name, dbError(ctx, err))
	}
	if _, err := sp.Exec(ctx, "ALTER TABLE "+o.table+" VALIDATE CONSTRAINT "+o.name); err != nil {
		return fmt.Errorf("check %s: %w", o.name, rowsError(ctx, o, err))
	}
	if err := sp.Rollback(ctx); err != nil {
		return fmt.Errorf("check %s: %w", o.name, dbError(ctx, err))
	}
	return nil
}

// copyIn runs a binary COPY of r into t, FREEZE where allowed.
func copyIn(ctx context.Context, tx pgx.Tx, t *loadTable, r io.Reader) (int64, error) {
	with := "FORMAT binary"
	if t.freeze {
		with += ", FREEZE"
	}
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, r, "COPY "+t.name+" ("+t.columns+") FROM STDIN WITH ("+with+")")
	return tag.RowsAffected(), err
}

// partBytes is about how many encoded bytes of one table's rows go to the
// server in one COPY: big enough that a COPY's fixed cost is small beside
// its rows, small enough that the server starts copying soon and memory
// stays flat. Each table fills its own part, so the small tables' COPYs are
// as big as the large ones'. Each COPY statement costs several ms beyond
// its rows (BENCHMARKS.md, "Initial load part size").
const partBytes = 4 << 20

// partsAhead is how many full parts the producer may have encoded and
// waiting while the server copies one; with the part each table is filling,
// it bounds the load's memory (about (tables + partsAhead + 1) x partBytes).
const partsAhead = 2

// part holds consecutive rows of one table, encoded for COPY. Each part is
// copied as soon as it is full, after the parts of the tables it refers to
// that hold rows it may refer to (see produce).
type part struct {
	table  int // index in the load's tables
	rows   binaryRows
	owners []int64    // the input position each line came from
	count  BulkResult // the rows it holds, as counted in results
}

func (p *part) reset(table int) {
	p.table = table
	p.rows.reset()
	p.owners = p.owners[:0]
	p.count = BulkResult{}
}

// row starts a row of position's input row.
func (p *part) row(position int64, fields int16) *binaryRows {
	p.owners = append(p.owners, position)
	p.rows.row(fields)
	return &p.rows
}

// errStopped ends the producer when the COPY side has stopped.
var errStopped = errors.New("copy stopped")

// copyGraphs reads graphs once. A producer goroutine validates them, gives
// them ids and encodes their rows into parts, one per table, while this
// goroutine, which owns the transaction, copies the parts that are full:
// the client's work overlaps the server's, and at most partsAhead parts wait.
func copyGraphs(ctx context.Context, tx pgx.Tx, graphs iter.Seq2[UserGraph, error], tables []*loadTable,
	size int, res, sent *BulkResult, progress func(LoadProgress),
) error {
	full := make(chan *part, partsAhead)
	free := make(chan *part, partsAhead+2) // copied parts, for reuse
	stop := make(chan struct{})
	var produced error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(full)
		produced = produce(ctx, graphs, tables, size, res, func(table int) *part {
			select {
			case p := <-free:
				p.reset(table)
				return p
			default:
				return &part{table: table}
			}
		}, func(p *part) bool {
			select {
			case full <- p:
				return true
			case <-stop:
				return false
			}
		})
	}()
	var copied error
	perTable := make([]int64, len(tables)) // rows copied, per table
	var starved time.Duration              // waiting for the producer
	waitFrom := time.Now()
	for p := range full {
		starved += time.Since(waitFrom)
		if copied == nil {
			if copied = copyPart(ctx, tx, tables[p.table], p); copied != nil {
				close(stop)
				continue
			}
			sent.add(p.count)
			perTable[p.table] += int64(len(p.owners))
			progress(LoadProgress{Phase: PhaseCopying, Step: tables[p.table].name, Total: len(tables), Starved: starved})
		}
		select {
		case free <- p:
		default:
		}
		waitFrom = time.Now()
	}
	<-done
	// The parts go in order and the producer works ahead: a COPY's error
	// is about an earlier row than the producer's.
	if copied != nil {
		return copied
	}
	if produced != nil {
		return produced
	}
	// Every table is done at once: a call each, with its own rows.
	for i, t := range tables {
		progress(LoadProgress{Phase: PhaseCopying, Step: t.name, Done: i + 1, Total: len(tables),
			TableRows: perTable[i], Starved: starved})
	}
	return nil
}

// copyPart copies p into t. A COPY's error names the input row its line
// came from.
func copyPart(ctx context.Context, tx pgx.Tx, t *loadTable, p *part) error {
	if _, err := copyIn(ctx, tx, t, bytes.NewReader(p.rows.finish())); err != nil {
		err = copyError(ctx, err, t.name, 1, nil)
		var rowErr *RowError
		if errors.As(err, &rowErr) && rowErr.Position > 0 {
			if rowErr.Position <= int64(len(p.owners)) {
				rowErr.Position = p.owners[rowErr.Position-1]
			} else {
				rowErr.Position = 0 // not a line we sent: say nothing rather than a wrong row
			}
		}
		return err
	}
	return nil
}

// tableRows is a BulkResult of n rows of a table.
func tableRows(table string, n int64) BulkResult {
	switch table {
	case "users":
		return BulkResult{Users: n}
	case "addresses":
		return BulkResult{Addresses: n}
	case "profiles":
		return BulkResult{Profiles: n}
	case "posts":
		return BulkResult{Posts: n}
	case "post_tags":
		return BulkResult{PostTags: n}
	}
	return BulkResult{}
}

// produce validates graphs, gives them ids and encodes their rows into
// parts from next, one filling per table, handing each that reaches size
// bytes to send (false: stop). It counts the rows read in res.
//
// A part goes after the rows its rows refer to: before it, the parts its
// table's parents are filling (and theirs before them), full or not, since
// they may hold the parents of its rows. So the server copies every row after
// the rows it refers to, as an INSERT of the batched path would come, and a
// trigger sees them (a post's user, a post_tag's post and tag). The parents'
// parts that go early are smaller; memory is as bounded as before.
func produce(ctx context.Context, graphs iter.Seq2[UserGraph, error], tables []*loadTable, size int, res *BulkResult,
	next func(table int) *part, send func(*part) bool,
) error {
	index := map[string]int{}
	for i, t := range tables {
		index[t.name] = i
	}
	iUsers, iAddresses, iEmailOwners, iProfiles, iPosts, iTags, iPostTags := index["users"], index["addresses"],
		index["email_owners"], index["profiles"], index["posts"], index["tags"], index["post_tags"]
	users, addresses, posts, tags := tables[iUsers], tables[iAddresses], tables[iPosts], tables[iTags]
	withIDs := []*loadTable{users, addresses, posts, tags}
	first := make([]int64, len(withIDs))
	for i, t := range withIDs {
		t.step = cmp.Or(t.step, 1) // no sequence: up by one
		first[i] = t.next
		t.next -= t.step // stepped before each use
	}
	defer func() {
		for i, t := range withIDs {
			if t.next != first[i]-t.step {
				t.last, t.used = t.next, true
			}
		}
	}()
	tagIDs := map[string]int64{}
	var b graphBatch
	b.emails = newBatchEmails(math.MaxInt)
	var position int64
	var n BulkResult
	parts := make([]*part, len(tables))
	for i := range parts {
		parts[i] = next(i)
	}
	// flush sends table i's part, its parents' parts that hold rows first,
	// and starts another. sending guards against a cycle of foreign keys.
	sending := make([]bool, len(tables))
	var flush func(i int) bool
	flush = func(i int) bool {
		sending[i] = true
		defer func() { sending[i] = false }()
		for _, parent := range tables[i].parents {
			if !sending[parent] && len(parts[parent].owners) > 0 && !flush(parent) {
				return false
			}
		}
		p := parts[i]
		p.count = tableRows(tables[i].name, int64(len(p.owners)))
		if !send(p) {
			return false
		}
		parts[i] = next(i)
		return true
	}
	for g, err := range graphs {
		position++
		if err != nil {
			return fmt.Errorf("row %d: reading input: %w", position, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		// Emails are checked across graphs by their unique keys (addresses'
		// index, email_owners' key), not kept in memory: only within a graph here.
		clear(b.emails.first)
		if err := b.check(position, g); err != nil {
			return &RowError{Position: position, Err: err}
		}
		var k BulkResult
		users.next += users.step
		userID := users.next
		r := parts[iUsers].row(position, 3)
		r.int8(userID)
		r.text(g.User.Name)
		r.int4(g.User.Age)
		k.Users++
		for _, e := range g.Emails {
			addresses.next += addresses.step
			r := parts[iAddresses].row(position, 3)
			r.int8(addresses.next)
			r.int8(userID)
			r.text(e)
			k.Addresses++
			r = parts[iEmailOwners].row(position, 3)
			r.text(emailKey(e))
			r.int8(userID)
			r.int8(addresses.next)
		}
		if g.Profile != nil {
			r := parts[iProfiles].row(position, 3)
			r.int8(userID)
			r.text(g.Profile.Bio)
			r.textOrNull(g.Profile.Website)
			k.Profiles++
		}
		for _, p := range g.Posts {
			posts.next += posts.step
			postID := posts.next
			r := parts[iPosts].row(position, 6)
			r.int8(postID)
			r.int8(userID)
			r.text(p.Title)
			r.text(p.Content)
			r.bool(p.Published)
			r.float8(p.Rating)
			k.Posts++
			var seen []int64
			for _, name := range p.Tags {
				norm := normalizedTag(name)
				id, ok := tagIDs[norm]
				if !ok {
					tags.next += tags.step
					id = tags.next
					tagIDs[norm] = id
					r := parts[iTags].row(position, 2)
					r.int8(id)
					r.text(norm)
				}
				if slices.Contains(seen, id) {
					continue
				}
				seen = append(seen, id)
				r := parts[iPostTags].row(position, 3)
				r.int8(userID)
				r.int8(postID)
				r.int8(id)
				k.PostTags++
			}
		}
		n.add(k)
		for i := range parts {
			if len(parts[i].rows.buf) >= size && !flush(i) {
				return errStopped
			}
		}
	}
	for i := range parts {
		if len(parts[i].owners) > 0 && !flush(i) {
			return errStopped
		}
	}
	*res = n
	return nil
}

// binaryRows encodes rows in COPY's binary format. The header goes first;
// finish adds the trailer.
type binaryRows struct {
	buf     []byte
	started bool
}

var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

func (b *binaryRows) row(fields int16) {
	if !b.started {
		b.buf = append(b.buf, copyHeader...)
		b.started = true
	}
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(fields))
}
func (b *binaryRows) int8(v int64) {
	b.buf = binary.BigEndian.AppendUint32(b.buf, 8)
	b.buf = binary.BigEndian.AppendUint64(b.buf, uint64(v))
}
func (b *binaryRows) int4(v int32) {
	b.buf = binary.BigEndian.AppendUint32(b.buf, 4)
	b.buf = binary.BigEndian.AppendUint32(b.buf, uint32(v))
}
func (b *binaryRows) float8(v float64) {
	b.buf = binary.BigEndian.AppendUint32(b.buf, 8)
	b.buf = binary.BigEndian.AppendUint64(b.buf, math.Float64bits(v))
}
func (b *binaryRows) bool(v bool) {
	b.buf = binary.BigEndian.AppendUint32(b.buf, 1)
	if v {
		b.buf = append(b.buf, 1)
	} else {
		b.buf = append(b.buf, 0)
	}
}
func (b *binaryRows) text(s string) {
	b.buf = binary.BigEndian.AppendUint32(b.buf, uint32(len(s)))
	b.buf = append(b.buf, s...)
}
func (b *binaryRows) textOrNull(s *string) {
	if s == nil {
		b.buf = binary.BigEndian.AppendUint32(b.buf, math.MaxUint32) // -1: NULL
		return
	}
	b.text(*s)
}

// finish adds the trailer (and the header, when no row came) and returns
// the whole stream.
func (b *binaryRows) finish() []byte {
	if !b.started {
		b.buf = append(b.buf, copyHeader...)
		b.started = true
	}
	b.buf = binary.BigEndian.AppendUint16(b.buf, math.MaxUint16) // -1: the end
	return b.buf
}

// reset empties b, keeping its buffer.
func (b *binaryRows) reset() { b.buf, b.started = b.buf[:0], false }

// restorePartitionKeys names the partitions' copies of the foreign keys
// put back as they were named, with their comments (parents first).
func restorePartitionKeys(ctx context.Context, tx pgx.Tx, keys []dbgen.InitialLoadPartitionKeysRow) error {
	q := newQueries(tx)
	for _, k := range keys {
		name, err := q.InitialLoadPartitionKeyName(ctx, dbgen.InitialLoadPartitionKeyNameParams{
			TableName: k.TableName, ParentTable: k.ParentTable, ParentName: k.ParentName})
		if err != nil {
			return fmt.Errorf("put back %s on %s: %w", k.Name, k.TableName, dbError(ctx, err))
		}
		var stmts []string
		if name != k.Name {
			stmts = append(stmts, "ALTER TABLE "+k.TableName+" RENAME CONSTRAINT "+name+" TO "+k.Name)
		}
		if k.Comment != "" {
			stmts = append(stmts, "COMMENT ON CONSTRAINT "+k.Name+" ON "+k.TableName+" IS "+quoteLiteral(k.Comment))
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("put back %s on %s: %w", k.Name, k.TableName, dbError(ctx, err))
			}
		}
	}
	return nil
}
