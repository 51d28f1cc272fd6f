package timing

import (
	"net/http"
	"testing"
	"time"
)

func TestAddParse(t *testing.T) {
	h := http.Header{}
	start := time.Unix(1700000000, 123456789)
	Add(h, "process.start", start, start.Add(1500*time.Microsecond))
	Add(h, "files.write", start.Add(time.Second), start.Add(time.Second+2*time.Millisecond))
	h.Add(Header, `cache;desc="Cache Read";dur=23.2, db;dur=53`) // others' entries are skipped
	got := Parse(h.Values(Header))
	if len(got) != 2 {
		t.Fatalf("entries %+v", got)
	}
	if got[0].Name != "process.start" || !got[0].Start.Equal(start) || got[0].End.Sub(got[0].Start) != 1500*time.Microsecond {
		t.Errorf("first %+v", got[0])
	}
	if got[1].Name != "files.write" || got[1].End.Sub(got[1].Start) != 2*time.Millisecond {
		t.Errorf("second %+v", got[1])
	}
	if Traced(http.Header{}) || !Traced(http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}) {
		t.Errorf("Traced")
	}
}

// TestParseBounded: a header of thousands of entries gives at most
// MaxEntries, and names other than the agent's steps give none.
func TestParseBounded(t *testing.T) {
	h := http.Header{}
	for i := 0; i < 10000; i++ {
		Add(h, ProcessStart, time.Unix(0, int64(i)), time.Unix(1, 0))
	}
	if got := Parse(h.Values(Header)); len(got) != MaxEntries {
		t.Errorf("%d entries, want %d", len(got), MaxEntries)
	}
	h = http.Header{}
	Add(h, "agent.forged", time.Unix(1, 0), time.Unix(2, 0))
	if got := Parse(h.Values(Header)); len(got) != 0 {
		t.Errorf("entries %+v of an unknown name", got)
	}
}

// TestDurationsReadBackExactly: a step's duration, whole microseconds as
// written, reads back as written, not a nanosecond short (2.094 ms is
// 2093999.9999… ns as a float).
func TestDurationsReadBackExactly(t *testing.T) {
	start := time.Unix(1700000000, 0)
	for us := range 100000 {
		d := time.Duration(us) * time.Microsecond
		h := http.Header{}
		Add(h, ProcessStart, start, start.Add(d))
		got := Parse(h.Values(Header))
		if len(got) != 1 || got[0].End.Sub(got[0].Start) != d {
			t.Fatalf("%v read back as %+v", d, got)
		}
	}
}
