package repo

import (
	"encoding/binary"
	"math"
)

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
