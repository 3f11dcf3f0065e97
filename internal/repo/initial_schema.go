package repo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/inkwell-dev/inkwell/internal/dbgen"
)

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

// readSchema reads the keys, indexes and foreign keys an initial load
// takes off, in the order they are put back; loaded are the loaded tables.
func readSchema(ctx context.Context, q *dbgen.Queries, loaded []string) ([]schemaObject, error) {
	constraints, err := q.InitialLoadConstraints(ctx, loaded)
	if err != nil {
		return nil, dbError(ctx, err)
	}
	indexes, err := q.InitialLoadIndexes(ctx, loaded)
	if err != nil {
		return nil, dbError(ctx, err)
	}
	var keys, fks, idx []schemaObject
	for _, c := range constraints {
		o := schemaObject{table: c.TableName, name: c.Name, def: keyDefinition(c), comment: c.Comment,
			clustered: c.Clustered, replicaIdentity: c.ReplicaIdentity,
			indexComment: c.IndexComment, tablespace: c.Tablespace, statistics: c.Statistics,
			checkRows: c.ForeignKey && !c.Validated && slices.Contains(loaded, c.TableName)}
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
