package keyset

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A cursor is the last row of a page: its list, order, direction and key
// values, as JSON in URL-safe base64. Opaque to callers; decoded, it is
// checked, since it comes from outside: it serves only the list, order and
// direction that made it, and its values must have the keys' types.
type cursor struct {
	List  string            `json:"l"`
	Order string            `json:"o"`
	Desc  bool              `json:"d,omitempty"`
	Keys  []json.RawMessage `json:"k"`
}

// CursorError is a cursor refused: Reason says why, in words for an error
// message ("is not a cursor this repository made").
type CursorError struct {
	Cursor string
	Reason string
}

func (e *CursorError) Error() string {
	return fmt.Sprintf("cursor %q %s", short(e.Cursor), e.Reason)
}

// The range of timestamps a cursor may carry: years 1 to 9999, within
// PostgreSQL's.
const (
	minMicros = -62135596800000000
	maxMicros = 253402300799999999
)

func (l *List) encode(order int, desc bool, vals []any) string {
	c := cursor{List: l.d.Name, Order: l.d.Orders[order].Name, Desc: desc, Keys: make([]json.RawMessage, len(vals))}
	for i, k := range l.keys(order) {
		v := vals[i]
		if k.Type == Time {
			v = timeValue(v)
		}
		b, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("keyset: list %s: key %s: %v", l.d.Name, k.Column, err))
		}
		c.Keys[i] = b
	}
	b, _ := json.Marshal(c) // cannot fail: plain fields
	return base64.RawURLEncoding.EncodeToString(b)
}

// describe names an order and direction for messages: "age", "age" descending.
func describe(order string, desc bool) string {
	s := strconv.Quote(short(order))
	if desc {
		s += " descending"
	}
	return s
}

func (l *List) decode(s string, order int, desc bool) ([]any, error) {
	refuse := func(reason string) ([]any, error) { return nil, &CursorError{Cursor: s, Reason: reason} }
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		err = d.Decode(&c)
		if err == nil && d.More() {
			err = fmt.Errorf("trailing data")
		}
	}
	if err != nil || c.List == "" || c.Order == "" {
		return refuse("is not a cursor this repository made")
	}
	want := l.d.Orders[order].Name
	if c.List != l.d.Name {
		return refuse(fmt.Sprintf("is for a list of %s, not of %s", strconv.Quote(short(c.List)), strconv.Quote(l.d.Name)))
	}
	if c.Order != want || c.Desc != desc {
		return refuse(fmt.Sprintf("is for a list ordered by %s, not %s", describe(c.Order, c.Desc), describe(want, desc)))
	}
	keys := l.keys(order)
	if len(c.Keys) != len(keys) {
		return refuse(fmt.Sprintf("has %d key values, not %d", len(c.Keys), len(keys)))
	}
	vals := make([]any, len(keys))
	for i, k := range keys {
		v, ok := value(k.Type, c.Keys[i])
		if !ok {
			return refuse(fmt.Sprintf("has a value for %s that is not of type %s", k.Column, k.Type))
		}
		vals[i] = v
	}
	return vals, nil
}

// value decodes a key value of type t, strictly.
func value(t Type, raw json.RawMessage) (any, bool) {
	switch t {
	case Int64:
		var v int64
		return v, json.Unmarshal(raw, &v) == nil
	case Int32:
		var v int32
		return v, json.Unmarshal(raw, &v) == nil
	case Text:
		var v string
		if json.Unmarshal(raw, &v) != nil || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return nil, false
		}
		return v, true
	case Time:
		var v int64
		if json.Unmarshal(raw, &v) != nil || v < minMicros || v > maxMicros {
			return nil, false
		}
		return time.UnixMicro(v).UTC(), true
	}
	return nil, false
}

// short cuts a value from outside for a message.
func short(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
