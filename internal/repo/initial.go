package repo

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
	// Tables declares the user's own tables whose rows come with the
	// graphs (UserGraph.Rows); see ExtraTable. The load treats them as its
	// own tables: locked, required empty, their keys, indexes and foreign
	// keys off for the copy and back after it, analyzed.
	Tables []ExtraTable

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

// InitialTables returns the repository's tables that InitialLoadGraphs
// writes, in the order it takes them; the tables its options declare
// (ExtraTable) come after them, and its Progress counts them all (a command's
// "copying 1/N" is N = len(InitialTables()) + the declared tables).
func InitialTables() []string { return slices.Clone(initialTables) }

// InitialLoadGraphs loads users with their addresses, profiles, posts and
// tags, and the rows of the tables opts declare (ExtraTable), into empty tables the fast way, pg_restore's order: in one
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
// Errors: ErrInvalid for a declaration of opts.Tables the catalog refuses
// (see ExtraTable), before anything is locked. ErrLoadRefused when the load cannot start: with ErrPermission
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

// loadTable is one table of an initial load: where its rows go and how
// they are counted.
type loadTable struct {
	name    string
	columns string      // the COPY column list
	freeze  bool        // COPY FREEZE is allowed (a plain table)
	extra   *extraTable // a declared table (ExtraTable); nil for the repository's
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
	// The declared tables first: a declaration the catalog refuses is the
	// caller's mistake, told before anything is locked.
	extras, err := describeTables(ctx, q, opts.Tables)
	if err != nil {
		return res, err
	}
	loaded := slices.Clone(initialTables)
	for _, e := range extras {
		loaded = append(loaded, e.name)
	}
	// Rights first: nothing is locked for a role that could not go on.
	notOwned, err := q.InitialLoadNotOwned(ctx, loaded)
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
	referrers, err := q.InitialLoadReferrers(ctx, loaded)
	if err != nil {
		return res, dbError(ctx, err)
	}
	lock := slices.Concat(loaded, referrers)
	if err := exec("LOCK TABLE " + strings.Join(lock, ", ") + " IN ACCESS EXCLUSIVE MODE"); err != nil {
		return res, err
	}
	nonEmpty, err := q.InitialLoadNonEmpty(ctx)
	if err != nil {
		return res, dbError(ctx, err)
	}
	for _, e := range extras {
		if nonEmpty != "" {
			break
		}
		// SELECT 1: see InitialLoadNonEmpty. The name is the catalog's.
		var has bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+e.name+")").Scan(&has); err != nil {
			return res, dbError(ctx, err)
		}
		if has {
			nonEmpty = e.name
		}
	}
	if nonEmpty != "" {
		return res, fmt.Errorf("%w: %w: table %s has rows: an initial load needs empty tables", ErrLoadRefused, ErrNotEmpty, nonEmpty)
	}
	// Keys, indexes and foreign keys, read under the lock.
	objects, err := readSchema(ctx, q, loaded)
	if err != nil {
		return res, err
	}
	partitionKeys, err := q.InitialLoadPartitionKeys(ctx, loaded)
	if err != nil {
		return res, dbError(ctx, err)
	}

	// In initialTables' order, then the declared tables'.
	tables := []*loadTable{
		{name: "users", columns: "id, name, age"},
		{name: "addresses", columns: "id, user_id, email"},
		{name: "email_owners", columns: "email_key, user_id, address_id"},
		{name: "profiles", columns: "user_id, bio, website"},
		{name: "posts", columns: "id, user_id, title, content, published, rating"},
		{name: "tags", columns: "id, name"},
		{name: "post_tags", columns: "user_id, post_id, tag_id"},
	}
	for i := range extras {
		tables = append(tables, &loadTable{name: extras[i].name, columns: extras[i].columns, extra: &extras[i]})
	}
	// Before the foreign keys come off: they say which tables' rows go first.
	facts, err := q.InitialLoadTables(ctx, dbgen.InitialLoadTablesParams{Tables: loaded, Own: int32(len(initialTables))})
	if err != nil {
		return res, dbError(ctx, err)
	}
	for _, f := range facts {
		t := tables[slices.Index(loaded, f.Name)]
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
	if err := exec("TRUNCATE " + strings.Join(loaded, ", ")); err != nil {
		return res, err
	}

	size := opts.partBytes
	if size <= 0 {
		size = partBytes
	}
	if err := copyGraphs(ctx, tx, graphs, tables, opts.Tables, size, &res, &sent, progress); err != nil {
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
	if err := exec("ANALYZE " + strings.Join(loaded, ", ")); err != nil {
		return res, err
	}
	progress(LoadProgress{Phase: PhaseAnalyzing, Step: strings.Join(loaded, ", "), Done: 1, Total: 1})
	return res, nil
}
