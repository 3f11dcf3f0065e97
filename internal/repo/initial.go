package repo

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

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
	// TempDir holds the rows of the tables waiting for their turn (the
	// posts stream straight to the server); "" means os.TempDir(). The files
	// are removed before the load returns.
	TempDir string
	// Progress, if set, is called as the load goes: during copying every
	// few thousand users, then once per table, key, index and foreign key.
	// Calls never overlap.
	Progress func(LoadProgress)
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
	// indexes built, foreign keys added. While graphs are read (and the
	// posts stream to the server), calls have Done 0 and Rows counts the
	// users read; each later phase starts with a call whose Done is 0.
	Done, Total int
	// Rows counts the rows sent so far; nothing is committed before the end.
	Rows BulkResult
}

// initialTables are the tables InitialLoadGraphs writes, in the order it
// copies them.
var initialTables = []string{"users", "addresses", "email_owners", "profiles", "posts", "tags", "post_tags"}

// InitialLoadGraphs loads users with their addresses, profiles, posts and
// tags into empty tables the fast way, pg_restore's order: in one
// transaction it takes the tables' keys, unique constraints, indexes and
// foreign keys off (their definitions read from the catalog, with the foreign
// keys of other tables that refer to them), copies the rows (COPY FREEZE after
// a TRUNCATE), then builds the keys and indexes, adds the foreign keys back
// (each checked in one pass) and runs ANALYZE. Ids continue from the
// tables' identity sequences, which end past the loaded ids.
//
// It is all or nothing: however it stops (an error, ctx ending, the client or
// the server going away), the transaction rolls back, the schema is as it was
// and no row stays. It holds an ACCESS EXCLUSIVE lock on the tables until it
// ends. Graphs are read once, in order; memory stays flat (the rows of every
// table but posts wait in files in TempDir).
//
// Errors: ErrPermission when the role does not own the tables (DDL needs
// the schema owner's role); ErrNotEmpty when a table has rows (use
// BulkInsertGraphs to add to them); ErrInvalid for a row that validation
// refuses (a *RowError naming its position) or for options the server does
// not accept. A row that breaks a key or foreign key is found when the
// constraint comes back: a *RowError naming the table, matching ErrConflict
// (a duplicate, the key in the message) or ErrNotFound (a missing
// reference), its Position 0. The context's errors, ErrUnavailable and
// ErrClosed as for any statement. Nothing is written in any of these cases.
func (r *Repo) InitialLoadGraphs(ctx context.Context, graphs iter.Seq2[UserGraph, error], opts InitialLoadOptions) (BulkResult, error) {
	defer wrote(ctx)
	var res BulkResult
	err := r.InTx(ctx, TxOptions{MaxAttempts: 1}, func(tx *Repo) error {
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
	// What else the catalog says of a key's or index's index.
	clustered, replicaIdentity bool
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
// definition: a comment, CLUSTER ON, REPLICA IDENTITY.
func (o schemaObject) after(index string) []string {
	var out []string
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
	// The ids it hands out, from its identity sequence ("" when it has none).
	sequence string
	next     int64 // the first id to hand out
	last     int64 // the last id handed out; 0 for none
	// A spooled table's rows and, for each line of its COPY, the position of
	// the input row it came from.
	rows, owners *spool
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
		return res, fmt.Errorf("%w: role %s cannot alter the tables %s: taking keys, indexes and foreign keys "+
			"off and putting them back needs the owner's role, or a role that is a member of it",
			ErrPermission, notOwned[0].Role, strings.Join(which, "; "))
	}

	// Keys, indexes and foreign keys, read before the lock only to know the
	// tables to lock (those that refer to the loaded ones too), then again
	// under it.
	objects, err := readSchema(ctx, q)
	if err != nil {
		return res, err
	}
	lock := slices.Clone(initialTables)
	for _, o := range objects {
		if !slices.Contains(lock, o.table) {
			lock = append(lock, o.table)
		}
	}
	if err := exec("LOCK TABLE " + strings.Join(lock, ", ") + " IN ACCESS EXCLUSIVE MODE"); err != nil {
		return res, err
	}
	if objects, err = readSchema(ctx, q); err != nil {
		return res, err
	}
	nonEmpty, err := q.InitialLoadNonEmpty(ctx)
	if err != nil {
		return res, dbError(ctx, err)
	}
	if nonEmpty != "" {
		return res, fmt.Errorf("%w: table %s has rows: an initial load needs empty tables", ErrNotEmpty, nonEmpty)
	}

	// Off, foreign keys first: they depend on the keys.
	for _, o := range slices.Backward(objects) {
		if err := exec(o.drop()); err != nil {
			return res, fmt.Errorf("drop %s: %w", o.name, err)
		}
	}
	// In this transaction, so that COPY may FREEZE.
	if err := exec("TRUNCATE " + strings.Join(initialTables, ", ")); err != nil {
		return res, err
	}

	tables := map[string]*loadTable{
		"users":     {columns: "id, name, age", count: &res.Users},
		"addresses": {columns: "id, user_id, email", count: &res.Addresses},
		// One row per address; internal, so not a count of its own.
		"email_owners": {columns: "email_key, user_id, address_id", count: &res.Addresses},
		"profiles":     {columns: "user_id, bio, website", count: &res.Profiles},
		"posts":        {columns: "id, user_id, title, content, published, rating", count: &res.Posts},
		"tags":         {columns: "id, name"},
		"post_tags":    {columns: "user_id, post_id, tag_id", count: &res.PostTags},
	}
	facts, err := q.InitialLoadTables(ctx, initialTables)
	if err != nil {
		return res, dbError(ctx, err)
	}
	for _, f := range facts {
		t := tables[f.Name]
		t.name, t.freeze, t.sequence, t.next = f.Name, f.Plain, f.Sequence, f.NextID
	}

	tags, err := copyGraphs(ctx, tx, graphs, tables, opts, &res, &sent, progress)
	if err != nil {
		return res, err
	}
	tagsTable := tables["tags"]
	if len(tags) > 0 {
		r := binaryRows{}
		names := slices.Collect(maps.Keys(tags))
		slices.SortFunc(names, func(a, b string) int { return int(tags[a] - tags[b]) })
		for _, n := range names {
			r.row(2)
			r.int8(tags[n])
			r.text(n)
		}
		if _, err := copyIn(ctx, tx, tagsTable, strings.NewReader(r.finish())); err != nil {
			return res, copyError(ctx, err, "tags", 1, nil)
		}
	}
	progress(LoadProgress{Phase: PhaseCopying, Step: "tags", Done: len(initialTables), Total: len(initialTables)})
	// Sequences only move forward: setval is not transactional, so a load
	// that rolls back leaves a gap, never an id handed out twice.
	for _, name := range initialTables {
		t := tables[name]
		if t.sequence == "" || t.last == 0 {
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
	progress(LoadProgress{Phase: PhaseForeignKeys, Total: len(fks)})
	for i, o := range fks {
		if err := restore(ctx, tx, o); err != nil {
			return res, err
		}
		progress(LoadProgress{Phase: PhaseForeignKeys, Step: o.name, Done: i + 1, Total: len(fks)})
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
		o := schemaObject{table: c.TableName, name: c.Name, def: c.Definition, comment: c.Comment,
			clustered: c.Clustered, replicaIdentity: c.ReplicaIdentity}
		if c.ForeignKey {
			fks = append(fks, o)
		} else {
			keys = append(keys, o)
		}
	}
	for _, i := range indexes {
		idx = append(idx, schemaObject{table: i.TableName, name: i.Name, def: i.Definition, comment: i.Comment,
			index: true, clustered: i.Clustered, replicaIdentity: i.ReplicaIdentity})
	}
	return slices.Concat(keys, idx, fks), nil
}

// restore puts o back. A row that breaks it fails with a RowError naming the
// table (and, in the message, the key).
func restore(ctx context.Context, tx pgx.Tx, o schemaObject) error {
	if _, err := tx.Exec(ctx, o.create()); err != nil {
		table := o.table
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.TableName != "" {
			table = pgErr.TableName
		}
		return fmt.Errorf("put back %s: %w", o.name, &RowError{Table: table, Err: dbError(ctx, err)})
	}
	// A key's index takes the key's name.
	for _, s := range o.after(o.name) {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("put back %s: %w", o.name, dbError(ctx, err))
		}
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

// streamed is the table whose rows go to the server as they are made, while
// those of the others wait in files: the one whose COPY costs the server the
// most, so that most of it overlaps the client's work.
const streamed = "posts"

// copyGraphs reads graphs once: the streamed table's rows go to the server
// as they are made while the rows of the other tables are written to spool
// files, which are copied after. It returns the tags' ids by name.
func copyGraphs(ctx context.Context, tx pgx.Tx, graphs iter.Seq2[UserGraph, error], tables map[string]*loadTable,
	opts InitialLoadOptions, res, sent *BulkResult, progress func(LoadProgress),
) (map[string]int64, error) {
	pr, pw := io.Pipe()
	order := []string{streamed}
	for _, name := range []string{"users", "addresses", "email_owners", "profiles", "posts", "post_tags"} {
		t := tables[name]
		var err error
		if name == streamed {
			t.rows = &spool{w: bufio.NewWriterSize(pw, 256<<10)}
		} else {
			if t.rows, err = newSpool(opts.TempDir, name); err != nil {
				return nil, err
			}
			defer t.rows.remove()
			order = append(order, name)
		}
		if t.owners, err = newSpool(opts.TempDir, name+"-rows"); err != nil {
			return nil, err
		}
		defer t.owners.remove()
	}

	tags := map[string]int64{}
	var produced error
	done := make(chan struct{})
	go func() {
		defer close(done)
		produced = produce(ctx, graphs, tables, tags, res, progress)
		pw.CloseWithError(cmpErr(produced, io.EOF))
	}()
	_, err := copyIn(ctx, tx, tables[streamed], pr)
	pr.CloseWithError(errors.New("copy ended")) // unblocks the producer
	<-done
	if produced != nil {
		return nil, produced
	}
	if err != nil {
		return nil, tables[streamed].owners.rowError(copyError(ctx, err, streamed, 1, nil))
	}

	for i, name := range order {
		t := tables[name]
		if name != streamed && *t.count > 0 {
			r, err := t.rows.reader()
			if err != nil {
				return nil, err
			}
			if _, err := copyIn(ctx, tx, t, r); err != nil {
				return nil, t.owners.rowError(copyError(ctx, err, name, 1, nil))
			}
		}
		sent.add(tableRows(name, *t.count))
		progress(LoadProgress{Phase: PhaseCopying, Step: name, Done: i + 1, Total: len(initialTables)})
	}
	return tags, nil
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

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// progressEvery is how many users pass between two calls of Progress while
// copying.
const progressEvery = 10_000

// produce validates graphs, gives them ids and encodes their rows: users to
// w, the other tables to their spools.
func produce(ctx context.Context, graphs iter.Seq2[UserGraph, error], tables map[string]*loadTable,
	tags map[string]int64, res *BulkResult, progress func(LoadProgress),
) error {
	users, addresses, profiles, posts, postTags := tables["users"], tables["addresses"], tables["profiles"], tables["posts"], tables["post_tags"]
	emailOwners := tables["email_owners"]
	withIDs := []*loadTable{users, addresses, posts, tables["tags"]}
	first := make([]int64, len(withIDs))
	for i, t := range withIDs {
		first[i] = t.next
		t.next-- // incremented before each use
	}
	defer func() {
		for i, t := range withIDs {
			if t.next >= first[i] {
				t.last = t.next
			}
		}
	}()
	var b graphBatch
	b.emails = newBatchEmails(math.MaxInt)
	var position int64
	var n BulkResult
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
		users.next++
		userID := users.next
		users.rows.row(3)
		users.rows.int8(userID)
		users.rows.text(g.User.Name)
		users.rows.int4(g.User.Age)
		users.owners.owner(position)
		n.Users++
		for _, e := range g.Emails {
			addresses.next++
			addresses.rows.row(3)
			addresses.rows.int8(addresses.next)
			addresses.rows.int8(userID)
			addresses.rows.text(e)
			addresses.owners.owner(position)
			emailOwners.rows.row(3)
			emailOwners.rows.text(emailKey(e))
			emailOwners.rows.int8(userID)
			emailOwners.rows.int8(addresses.next)
			emailOwners.owners.owner(position)
			n.Addresses++
		}
		if g.Profile != nil {
			profiles.rows.row(3)
			profiles.rows.int8(userID)
			profiles.rows.text(g.Profile.Bio)
			profiles.rows.textOrNull(g.Profile.Website)
			profiles.owners.owner(position)
			n.Profiles++
		}
		for _, p := range g.Posts {
			posts.next++
			postID := posts.next
			posts.rows.row(6)
			posts.rows.int8(postID)
			posts.rows.int8(userID)
			posts.rows.text(p.Title)
			posts.rows.text(p.Content)
			posts.rows.bool(p.Published)
			posts.rows.float8(p.Rating)
			posts.owners.owner(position)
			n.Posts++
			var seen []int64
			for _, name := range p.Tags {
				norm := normalizedTag(name)
				id, ok := tags[norm]
				if !ok {
					tables["tags"].next++
					id = tables["tags"].next
					tags[norm] = id
				}
				if slices.Contains(seen, id) {
					continue
				}
				seen = append(seen, id)
				postTags.rows.row(3)
				postTags.rows.int8(userID)
				postTags.rows.int8(postID)
				postTags.rows.int8(id)
				postTags.owners.owner(position)
				n.PostTags++
			}
		}
		if err := tables[streamed].rows.err; err != nil {
			return err // the COPY ended
		}
		if n.Users%progressEvery == 0 {
			progress(LoadProgress{Phase: PhaseCopying, Step: streamed, Total: len(initialTables), Rows: BulkResult{Users: n.Users}})
		}
	}
	if n.Users%progressEvery != 0 {
		progress(LoadProgress{Phase: PhaseCopying, Step: streamed, Total: len(initialTables), Rows: BulkResult{Users: n.Users}})
	}
	for _, t := range []*loadTable{users, addresses, emailOwners, profiles, posts, postTags} {
		if err := t.rows.closeRows(); err != nil {
			return err
		}
		if err := t.owners.close(); err != nil {
			return err
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

func (b *binaryRows) finish() string {
	if !b.started {
		b.row(0) // the header
		b.buf = b.buf[:len(b.buf)-2]
	}
	b.buf = binary.BigEndian.AppendUint16(b.buf, math.MaxUint16) // -1: the end
	return string(b.buf)
}

// spool is a temporary file of encoded rows, written through a buffer that
// is flushed as it fills.
type spool struct {
	binaryRows
	f *os.File
	w *bufio.Writer
	n int64 // owner positions written
	// err is the first write error, returned by close.
	err error
}

func newSpool(dir, name string) (*spool, error) {
	f, err := os.CreateTemp(dir, "inkwell-load-"+name+"-*")
	if err != nil {
		return nil, fmt.Errorf("spool of %s: %w", name, err)
	}
	return &spool{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// row starts a row, first flushing what the buffer holds when it is big.
func (s *spool) row(fields int16) {
	if len(s.buf) >= 64<<10 {
		s.flush()
	}
	s.binaryRows.row(fields)
}

func (s *spool) flush() {
	if s.err == nil {
		_, s.err = s.w.Write(s.buf)
	}
	s.buf = s.buf[:0]
}

// owner records the input position of the next line of the COPY.
func (s *spool) owner(position int64) {
	s.buf = binary.BigEndian.AppendUint64(s.buf, uint64(position))
	if len(s.buf) >= 64<<10 {
		s.flush()
	}
	s.n++
}

// closeRows ends a spool of rows with COPY's trailer (and its header, when
// no row came: the streamed table's COPY reads a whole stream however many
// rows there are), then flushes it.
func (s *spool) closeRows() error {
	s.buf = []byte(s.finish())
	return s.close()
}

// close flushes what the spool holds.
func (s *spool) close() error {
	s.flush()
	if s.err == nil {
		s.err = s.w.Flush()
	}
	return s.err
}

func (s *spool) reader() (io.Reader, error) {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return bufio.NewReaderSize(s.f, 256<<10), nil
}

// rowError fills in the position of the input row a COPY error's line came
// from, read from the owners spool.
func (s *spool) rowError(err error) error {
	var rowErr *RowError
	if !errors.As(err, &rowErr) || rowErr.Position < 1 {
		return err
	}
	s.flush()
	if s.err == nil {
		s.err = s.w.Flush()
	}
	var b [8]byte
	if _, rerr := s.f.ReadAt(b[:], (rowErr.Position-1)*8); rerr != nil {
		rowErr.Position = 0
		return err
	}
	rowErr.Position = int64(binary.BigEndian.Uint64(b[:]))
	return err
}

func (s *spool) remove() {
	s.f.Close()
	os.Remove(s.f.Name())
}
