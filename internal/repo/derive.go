package repo

import (
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/inkwell-dev/inkwell/internal/keyset"
)

// A keyset list's rows become Go values by field name: each selected column
// scans into the struct field named as the column in CamelCase (user_id:
// UserID, "u.name AS author_name": AuthorName) or tagged `db:"user_id"`.
// Fields are matched once, when the package loads (a column without its
// field panics then, naming both); a row is scanned into targets made once
// per statement, with no reflection per row.

// listOf returns how the rows of l become values P: its columns, then its
// JoinColumns. A list with children needs an int64 "id" column, the id its
// children's rows name.
func listOf[P any](l *keyset.List) list[P] {
	d := l.Decl()
	cols := append(slices.Clone(d.Columns), splitColumns(d.JoinColumns)...)
	t := reflect.TypeFor[P]()
	paths := fieldPaths(t, "list "+d.Name, cols, "")
	at := func(col string) []int { return paths[slices.Index(cols, col)] }
	out := list[P]{
		decl:  l,
		dests: func(p *P) []any { return fieldAddrs(reflect.ValueOf(p).Elem(), paths) },
		column: func(p P, col string) any {
			return reflect.ValueOf(&p).Elem().FieldByIndex(at(col)).Interface()
		},
	}
	if len(d.Children) > 0 {
		if !slices.Contains(cols, "id") {
			panic(fmt.Sprintf("repo: list %s has children but selects no id column", d.Name))
		}
		out.id = int64At[P](t, at("id"), "list "+d.Name)
	}
	return out
}

// keyed is a row of a list's child: the child and its parent's id.
// (exported fields: reflection sets them).
type keyed[C any] struct {
	Parent int64
	V      C
}

// childOf returns how the rows of l's child name become values C, attached
// to their parents by rel: each of the child's columns scans into C's field
// of its name; its Key, if C has no such field, into the parent's id only.
func childOf[P, C any](l *keyset.List, name string, rel relation[P, C]) child[P, keyed[C], C] {
	d := l.Decl()
	i := slices.IndexFunc(d.Children, func(c keyset.Child) bool { return c.Name == name })
	if i < 0 {
		panic(fmt.Sprintf("repo: list %s has no child %q", d.Name, name))
	}
	c := d.Children[i]
	cols := splitColumns(c.Columns)
	key := columnName(c.Key)
	t := reflect.TypeFor[keyed[C]]()
	what := "child " + name + " of list " + d.Name
	paths := fieldPaths(t, what, cols, key)
	k := slices.IndexFunc(cols, func(col string) bool { return columnName(col) == key })
	if k < 0 {
		panic(fmt.Sprintf("repo: %s: its key %s is not among its columns %s", what, c.Key, c.Columns))
	}
	makers := make([]func() nullSlot, len(paths))
	for i, p := range paths {
		makers[i] = slotMaker(fieldAt(t, p))
	}
	return child[P, keyed[C], C]{
		name: name, rel: rel,
		dests:  func(r *keyed[C]) []any { return fieldAddrs(reflect.ValueOf(r).Elem(), paths) },
		parent: int64At[keyed[C]](t, paths[k], what),
		conv:   func(r keyed[C]) C { return r.V },
		nullable: func() ([]any, func() (C, bool)) {
			var row keyed[C]
			base := unsafe.Pointer(&row)
			slots := make([]nullSlot, len(makers))
			dests := make([]any, len(makers))
			for i, mk := range makers {
				slots[i] = mk()
				dests[i] = slots[i].target()
			}
			return dests, func() (C, bool) {
				if slots[k].null() { // the key is NULL: a parent without children
					return row.V, false
				}
				for _, s := range slots {
					s.store(base)
				}
				return row.V, true
			}
		},
	}
}

// fieldPaths finds, for each column, the index path of t's field of its
// name, or panics. In a keyed[C], the fields are C's, and key, if C has
// none of its name, is the parent field.
func fieldPaths(t reflect.Type, what string, cols []string, key string) [][]int {
	own, prefix := t, []int(nil)
	if key != "" {
		own, prefix = t.Field(1).Type, []int{1}
	}
	paths := make([][]int, len(cols))
	for i, col := range cols {
		for _, f := range reflect.VisibleFields(own) {
			if f.IsExported() && !f.Anonymous && fieldNamed(f, columnName(col)) {
				paths[i] = append(slices.Clone(prefix), f.Index...)
				break
			}
		}
		if paths[i] == nil && columnName(col) == key {
			paths[i] = []int{0}
		}
		if paths[i] == nil {
			panic(fmt.Sprintf("repo: %s: column %s has no field in %s (named %s or tagged `db:%q`)",
				what, col, own, camel(columnName(col)), columnName(col)))
		}
		for j := range i { // two columns in one field: the second would overwrite the first
			if slices.Equal(paths[j], paths[i]) {
				panic(fmt.Sprintf("repo: %s: columns %s and %s both fill field %s of %s (alias one: AS <name>)",
					what, cols[j], col, camel(columnName(col)), own))
			}
		}
	}
	return paths
}

// fieldNamed reports whether f is the field of column col.
func fieldNamed(f reflect.StructField, col string) bool {
	if tag, ok := f.Tag.Lookup("db"); ok {
		return tag == col
	}
	return strings.EqualFold(f.Name, strings.ReplaceAll(col, "_", ""))
}

// columnName is the name a selected column has in its result: "u.name AS
// author_name" author_name, "c.user_id" user_id.
func columnName(col string) string {
	col = strings.TrimSpace(col)
	if i := strings.LastIndex(strings.ToLower(col), " as "); i >= 0 {
		col = strings.TrimSpace(col[i+4:])
	}
	return col[strings.LastIndex(col, ".")+1:]
}

// splitColumns splits "c.id, c.email" into its columns.
func splitColumns(cols string) []string {
	if strings.TrimSpace(cols) == "" {
		return nil
	}
	out := strings.Split(cols, ",")
	for i := range out {
		out[i] = strings.TrimSpace(out[i])
	}
	return out
}

// camel is the field name a message suggests for col (fieldNamed accepts
// any case): Go's initialisms upper-cased, user_id UserID, url URL.
func camel(col string) string {
	var b strings.Builder
	for w := range strings.SplitSeq(col, "_") {
		if initialisms[w] {
			b.WriteString(strings.ToUpper(w))
		} else if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

var initialisms = map[string]bool{"id": true, "url": true, "uri": true, "uuid": true, "ip": true,
	"api": true, "http": true, "json": true, "html": true, "sql": true}

// fieldAddrs returns the addresses of v's fields at paths, as scan targets.
func fieldAddrs(v reflect.Value, paths [][]int) []any {
	out := make([]any, len(paths))
	for i, p := range paths {
		out[i] = v.FieldByIndex(p).Addr().Interface()
	}
	return out
}

// int64At returns a reader of the int64 field of T at path, by its offset:
// it runs once per row, so no reflection.
func int64At[T any](t reflect.Type, path []int, what string) func(T) int64 {
	ft, off := fieldAt(t, path)
	if ft != reflect.TypeFor[int64]() {
		panic(fmt.Sprintf("repo: %s: the id field at %v of %s is %s, not int64", what, path, t, ft))
	}
	return func(v T) int64 { return *(*int64)(unsafe.Add(unsafe.Pointer(&v), off)) }
}

// fieldAt returns the type and offset of t's field at path (through
// embedded structs, not pointers).
func fieldAt(t reflect.Type, path []int) (reflect.Type, uintptr) {
	var off uintptr
	for _, i := range path {
		f := t.Field(i)
		off += f.Offset
		t = f.Type
	}
	return t, off
}

// A nullSlot is the scan target of one column of a joined child, which is
// NULL for a parent without children; it stores the column's value (or T's
// zero) into the child's field at its offset. Typed for the common types:
// no reflection per row.
type nullSlot interface {
	target() any
	null() bool
	store(base unsafe.Pointer)
}

// scalar is a nullSlot that pgx fills through a Scan method of pgtype's
// (ScanInt64 and its kin: the value and whether it is NULL), so a row
// allocates nothing for it: a **T target would have pgx allocate a T for
// every value that is not NULL (BENCHMARKS.md, "A page's rows in Go").
// A column of another type than the method's (json into a string, a
// timestamp without time zone or a date into a time.Time, an integer into
// a float64) comes through Scan, database/sql's conversions, as it would
// have into a *T.
type scalar[T any] struct {
	v     T
	valid bool
	off   uintptr
}

// Scan is sql.Scanner: pgx's way for a column whose codec knows none of the
// typed methods (and, for json, what it takes before unmarshaling into the
// slot itself).
func (s *scalar[T]) Scan(src any) error {
	var n sql.Null[T]
	if err := n.Scan(src); err != nil {
		return err
	}
	s.v, s.valid = n.V, n.Valid
	return nil
}

func (s *scalar[T]) null() bool { return !s.valid }
func (s *scalar[T]) store(base unsafe.Pointer) {
	dst := (*T)(unsafe.Add(base, s.off))
	if !s.valid {
		var zero T
		*dst = zero
		return
	}
	*dst = s.v
}

type int64Slot struct{ scalar[int64] }

func (s *int64Slot) target() any { return s }
func (s *int64Slot) ScanInt64(v pgtype.Int8) error {
	s.v, s.valid = v.Int64, v.Valid
	return nil
}

type int32Slot struct{ scalar[int32] }

func (s *int32Slot) target() any { return s }
func (s *int32Slot) ScanInt64(v pgtype.Int8) error {
	if v.Valid && int64(int32(v.Int64)) != v.Int64 {
		return fmt.Errorf("%d is out of range for int32", v.Int64)
	}
	s.v, s.valid = int32(v.Int64), v.Valid
	return nil
}

type stringSlot struct{ scalar[string] }

func (s *stringSlot) target() any { return s }
func (s *stringSlot) ScanText(v pgtype.Text) error {
	s.v, s.valid = v.String, v.Valid
	return nil
}

type boolSlot struct{ scalar[bool] }

func (s *boolSlot) target() any { return s }
func (s *boolSlot) ScanBool(v pgtype.Bool) error {
	s.v, s.valid = v.Bool, v.Valid
	return nil
}

type float64Slot struct{ scalar[float64] }

func (s *float64Slot) target() any { return s }
func (s *float64Slot) ScanFloat64(v pgtype.Float8) error {
	s.v, s.valid = v.Float64, v.Valid
	return nil
}

type timeSlot struct{ scalar[time.Time] }

func (s *timeSlot) target() any { return s }
func (s *timeSlot) ScanTimestamptz(v pgtype.Timestamptz) error {
	if v.Valid && v.InfinityModifier != pgtype.Finite {
		return fmt.Errorf("cannot scan %s into time.Time", v.InfinityModifier)
	}
	s.v, s.valid = v.Time, v.Valid
	return nil
}

// slot is a nullSlot for a pointer field (a column that may be NULL in the
// child's own rows too): the *T that pgx sets or leaves nil.
type slot[T any] struct {
	p   *T
	off uintptr
}

func (s *slot[T]) target() any { return &s.p }
func (s *slot[T]) null() bool  { return s.p == nil }
func (s *slot[T]) store(base unsafe.Pointer) {
	*(**T)(unsafe.Add(base, s.off)) = s.p
}

// reflectSlot is a nullSlot for a type slotMaker does not know.
type reflectSlot struct {
	p   reflect.Value // a **T
	t   reflect.Type
	off uintptr
}

func (s *reflectSlot) target() any { return s.p.Interface() }
func (s *reflectSlot) null() bool  { return s.p.Elem().IsNil() }
func (s *reflectSlot) store(base unsafe.Pointer) {
	dst := reflect.NewAt(s.t, unsafe.Add(base, s.off)).Elem()
	if s.null() {
		dst.SetZero()
		return
	}
	dst.Set(s.p.Elem().Elem())
}

// slotMaker returns a maker of nullSlots for a field of type t at off.
func slotMaker(t reflect.Type, off uintptr) func() nullSlot {
	switch t {
	case reflect.TypeFor[int64]():
		return func() nullSlot { return &int64Slot{scalar[int64]{off: off}} }
	case reflect.TypeFor[int32]():
		return func() nullSlot { return &int32Slot{scalar[int32]{off: off}} }
	case reflect.TypeFor[string]():
		return func() nullSlot { return &stringSlot{scalar[string]{off: off}} }
	case reflect.TypeFor[bool]():
		return func() nullSlot { return &boolSlot{scalar[bool]{off: off}} }
	case reflect.TypeFor[float64]():
		return func() nullSlot { return &float64Slot{scalar[float64]{off: off}} }
	case reflect.TypeFor[time.Time]():
		return func() nullSlot { return &timeSlot{scalar[time.Time]{off: off}} }
	case reflect.TypeFor[*string]():
		return func() nullSlot { return &slot[string]{off: off} }
	}
	return func() nullSlot { return &reflectSlot{p: reflect.New(reflect.PointerTo(t)), t: t, off: off} }
}
