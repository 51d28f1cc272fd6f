package api

import (
	"bytes"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// The fuzz targets below feed every REST request decoder and query parser
// arbitrary input: none may panic, each refusal must be the client's
// mistake (invalid argument, a 400), and what is accepted must be within
// the documented bounds. Seeds live in testdata/fuzz; run one with e.g.
// go test -fuzz=FuzzDecodeCreate -fuzztime=30s ./internal/api

// refused fails t unless err is nil or an invalid argument.
func refused(t *testing.T, in any, err error) bool {
	t.Helper()
	if err != nil && !errdefs.IsInvalidArgument(err) {
		t.Fatalf("%q: error %v is not an invalid argument", in, err)
	}
	return err != nil
}

func FuzzDecodeCreate(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := decodeCreate(bytes.NewReader(body))
		if refused(t, body, err) {
			return
		}
		if b.Timeout != nil && timeoutBound.check(*b.Timeout) != nil {
			t.Fatalf("%q: accepted timeout %d", body, *b.Timeout)
		}
		if cpuBound.check(int64(b.CPUCount)) != nil || memoryBound.check(int64(b.MemoryMB)) != nil {
			t.Fatalf("%q: accepted cpuCount %d, memoryMB %d", body, b.CPUCount, b.MemoryMB)
		}
	})
}

func FuzzDecodeTimeout(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, required bool) {
		d, err := decodeTimeout(bytes.NewReader(body), required)
		if refused(t, body, err) {
			return
		}
		if d < 0 || d.Seconds() > float64(timeoutBound.max) || (required && d == 0) {
			t.Fatalf("%q: accepted %v", body, d)
		}
	})
}

func FuzzDecodeRefresh(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := decodeRefresh(bytes.NewReader(body))
		if refused(t, body, err) {
			return
		}
		if d <= 0 || d.Seconds() > float64(durationBound.max) {
			t.Fatalf("%q: accepted %v", body, d)
		}
	})
}

// FuzzDecodePause: a pause body is refused as a client's mistake or read
// as memory true unless it says "memory": false.
func FuzzDecodePause(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		memory, err := decodePause(bytes.NewReader(body))
		if refused(t, body, err) {
			return
		}
		var b struct {
			Memory *bool `json:"memory"`
		}
		if json.Unmarshal(body, &b) == nil && b.Memory != nil && *b.Memory != memory {
			t.Fatalf("%q: memory %v", body, memory)
		}
	})
}

func FuzzParseListQuery(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		lq, err := parseListQuery(raw)
		if refused(t, raw, err) {
			return
		}
		if lq.limit < 1 || lq.limit > 100 || len(lq.states) == 0 {
			t.Fatalf("%q: accepted limit %d, states %v", raw, lq.limit, lq.states)
		}
		if _, ok := lq.metadata[""]; ok {
			t.Fatalf("%q: accepted an empty metadata key", raw)
		}
		if lq.cursor != nil {
			// A token this server issues reads back as it was written.
			tok := makeToken(lq.cursor.id, lq.cursor.started)
			c, err := parseToken(tok)
			if err != nil || c.id != lq.cursor.id || !c.started.Equal(lq.cursor.started) {
				t.Fatalf("token of %+v reads back as %+v, %v", lq.cursor, c, err)
			}
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		md, err := parseMetadata(raw)
		if refused(t, raw, err) {
			return
		}
		if _, ok := md[""]; ok {
			t.Fatalf("%q: accepted an empty key", raw)
		}
		// What the SDKs send for md parses back to md.
		if len(md) > 0 {
			v := url.Values{}
			for k, x := range md {
				v.Set(k, x)
			}
			again, err := parseMetadata(url.QueryEscape(v.Encode()))
			if err != nil || len(again) != len(md) {
				t.Fatalf("%v encoded as the SDKs do reads back as %v, %v", md, again, err)
			}
			for k, x := range md {
				if again[k] != x {
					t.Fatalf("%v encoded as the SDKs do reads back as %v", md, again)
				}
			}
		}
	})
}

func FuzzParseMetricsRange(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		start, end, err := parseMetricsRange(raw)
		if refused(t, raw, err) {
			return
		}
		if !start.IsZero() && !end.IsZero() && start.After(end) {
			t.Fatalf("%q: accepted start %v after end %v", raw, start, end)
		}
		for _, x := range []int64{start.Unix(), end.Unix()} {
			if x > startBound.max {
				t.Fatalf("%q: accepted %d", raw, x)
			}
		}
	})
}

func FuzzParseLogsQuery(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		start, limit, err := parseLogsQuery(raw)
		if refused(t, raw, err) {
			return
		}
		if logStartBound.check(start) != nil || logLimitBound.check(int64(limit)) != nil {
			t.Fatalf("%q: accepted start %d, limit %d", raw, start, limit)
		}
	})
}

func FuzzParseSandboxIDs(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		ids, err := parseSandboxIDs(raw)
		if refused(t, raw, err) {
			return
		}
		if len(ids) > maxMetricsIDs {
			t.Fatalf("%q: accepted %d ids", raw, len(ids))
		}
		for _, id := range ids {
			if id == "" {
				t.Fatalf("%q: an empty id", raw)
			}
		}
	})
}
