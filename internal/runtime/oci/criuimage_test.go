package oci

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// extent is a CRIU UidGidExtent: first, lower_first, count.
func extent(first, lower, count uint64) []byte {
	var b []byte
	for i, v := range []uint64{first, lower, count} {
		b = protowire.AppendTag(b, protowire.Number(i+1), protowire.VarintType)
		b = protowire.AppendVarint(b, v)
	}
	return b
}

// TestShiftExtentStaysInTheSourceRange: a clone's id map is the source's
// moved to the clone's range, and a map that reaches past the source's
// range (a tampered image) is refused rather than moved over another
// sandbox's host ids.
func TestShiftExtentStaysInTheSourceRange(t *testing.T) {
	const from, to = 100000, 300000
	got, err := shiftExtent(extent(0, from, idRange), from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := extent(0, to, idRange); string(got) != string(want) {
		t.Errorf("shifted extent %x, want %x", got, want)
	}
	for _, bad := range [][]byte{
		extent(0, from, idRange+1),
		extent(0, from+10, idRange),
		extent(0, from-1, 1),
	} {
		if _, err := shiftExtent(bad, from, to); err == nil {
			t.Errorf("extent %x outside the source's range was shifted", bad)
		}
	}
}
