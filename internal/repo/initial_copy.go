package repo

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// copyIn runs a binary COPY of r into t, FREEZE where allowed (traced
// here: pgx's tracer does not see pgconn's COPY).
func copyIn(ctx context.Context, tx pgx.Tx, t *loadTable, r io.Reader) (int64, error) {
	with := "FORMAT binary"
	if t.freeze {
		with += ", FREEZE"
	}
	ctx, done := tracedCopy(ctx, tx, t.name)
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, r, "COPY "+t.name+" ("+t.columns+") FROM STDIN WITH ("+with+")")
	done(tag, err)
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
	declared []ExtraTable, size int, res, sent *BulkResult, progress func(LoadProgress),
) error {
	// The producer alone encodes with the connection's type map while it
	// runs: this goroutine only copies bytes (PgConn).
	typeMap := tx.Conn().TypeMap()
	full := make(chan *part, partsAhead)
	free := make(chan *part, partsAhead+2) // copied parts, for reuse
	stop := make(chan struct{})
	var produced error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(full)
		produced = produce(ctx, graphs, tables, declared, typeMap, size, res, func(table int) *part {
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
func tableRows(t *loadTable, n int64) BulkResult {
	if t.extra != nil {
		return BulkResult{Extra: n}
	}
	switch t.name {
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
func produce(ctx context.Context, graphs iter.Seq2[UserGraph, error], tables []*loadTable, decl []ExtraTable,
	typeMap *pgtype.Map, size int, res *BulkResult, next func(table int) *part, send func(*part) bool,
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
	b := graphBatch{emails: newBatchEmails(math.MaxInt), tables: decl, declared: declared(decl)}
	// The declared tables' indexes in tables, by their index in decl.
	iExtra := make([]int, len(decl))
	for i := range iExtra {
		iExtra[i] = len(initialTables) + i
	}
	var postIDs []int64 // the graph's posts' ids, when it has rows of declared tables
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
		p.count = tableRows(tables[i], int64(len(p.owners)))
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
		postIDs = postIDs[:0]
		for _, p := range g.Posts {
			posts.next += posts.step
			postID := posts.next
			if len(g.Rows) > 0 {
				postIDs = append(postIDs, postID)
			}
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
		for _, row := range g.Rows {
			t := iExtra[b.declared[row.Table]]
			parts[t].owners = append(parts[t].owners, position)
			if err := encodeRow(&parts[t].rows, typeMap, tables[t].extra, row, userID, postIDs); err != nil {
				return &RowError{Position: position, Err: err}
			}
			k.Extra++
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
