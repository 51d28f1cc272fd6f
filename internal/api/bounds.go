package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// bound is the documented range of one numeric field of the API (see
// openapi.json, whose minimum and maximum must agree; a test checks).
type bound struct {
	field    string
	min, max int64
	unit     string // " seconds", " MiB": how the range reads
}

// The bounds. cpuCount's upper bound is the host's CPUs, checked by the
// lifecycle; here it is the most any host could have.
var (
	timeoutBound  = bound{"timeout", 1, 86400, " seconds"}
	durationBound = bound{"duration", 0, 86400, " seconds (0: 60)"}
	cpuBound      = bound{"cpuCount", 0, 1024, " (0: the default; at most the host's CPUs)"}
	memoryBound   = bound{"memoryMB", 0, runtime.MaxMemoryMB, fmt.Sprintf(" MiB (0: the default; at least %d)", runtime.MinMemoryMB)}
	limitBound    = bound{"limit", 1, 100, ""}
	logLimitBound = bound{"limit", 1, 1000, ""}
	// Unix seconds up to the last second of year 9999: every time the
	// API can write back.
	startBound = bound{"start", 0, 253402300799, " (unix seconds)"}
	endBound   = bound{"end", 0, 253402300799, " (unix seconds)"}
	// Unix milliseconds, the same range.
	logStartBound = bound{"start", 0, 253402300799999, " (unix milliseconds)"}
	// Network limits (SoulBox extensions); a server with a limit of its
	// own also refuses more than it.
	egressBound  = bound{"egressMbps", 1, runtime.MaxNetworkMbps, " Mbit/s"}
	ingressBound = bound{"ingressMbps", 1, runtime.MaxNetworkMbps, " Mbit/s"}
	connBound    = bound{"maxConnections", 1, runtime.MaxNetworkConnections, ""}
)

// bodyBounds are the bounds of body fields by JSON name, for the message
// of a number the decoder cannot hold.
var bodyBounds = map[string]bound{
	"timeout": timeoutBound, "duration": durationBound, "cpuCount": cpuBound, "memoryMB": memoryBound,
	"network.egressMbps": egressBound, "network.ingressMbps": ingressBound, "network.maxConnections": connBound,
}

func (b bound) err(got string) error {
	return fmt.Errorf("%s %s is out of range: use %d to %d%s: %w", b.field, got, b.min, b.max, b.unit, errdefs.ErrInvalidArgument)
}

// check returns an error naming the field and its bounds when v is
// outside them.
func (b bound) check(v int64) error {
	if v < b.min || v > b.max {
		return b.err(strconv.FormatInt(v, 10))
	}
	return nil
}

// query reads an optional integer query parameter within b; absent is
// def.
func (b bound) query(q url.Values, def int64) (int64, error) {
	s := q.Get(b.field)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, b.err(strconv.Quote(s))
	}
	return v, b.check(v)
}

// maxBody is the largest request body the API reads.
const maxBody = 1 << 20

// decodeBody reads a JSON object from r into v. An empty body is an empty
// object. A number that does not fit its field, or a value of the wrong
// type, is refused with the field's name and bounds.
func decodeBody(r io.Reader, v any) error { return decodeJSON(r, v, false) }

// decodeStrictBody is decodeBody refusing fields v does not have, for
// bodies where a field the server does not know must not be dropped
// silently (a network rule).
func decodeStrictBody(r io.Reader, v any) error { return decodeJSON(r, v, true) }

func decodeJSON(r io.Reader, v any, strict bool) error {
	body := &cappedReader{r: r, left: maxBody}
	dec := json.NewDecoder(body)
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	if body.over {
		return fmt.Errorf("body larger than %d bytes: %w", maxBody, errdefs.ErrInvalidArgument)
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if b, ok := bodyBounds[te.Field]; ok {
			if n, isNum := strings.CutPrefix(te.Value, "number "); isNum {
				return b.err(n)
			}
			return fmt.Errorf("%s: want an integer from %d to %d%s, got %s: %w", b.field, b.min, b.max, b.unit, te.Value, errdefs.ErrInvalidArgument)
		}
		return fmt.Errorf("%s: want %s, got %s: %w", te.Field, jsonKind(te.Type.Kind().String()), te.Value, errdefs.ErrInvalidArgument)
	}
	if err != nil {
		return fmt.Errorf("invalid JSON body: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	// One value only: trailing data is a malformed request.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if body.over {
			return fmt.Errorf("body larger than %d bytes: %w", maxBody, errdefs.ErrInvalidArgument)
		}
		return fmt.Errorf("invalid JSON body: data after the object: %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

// cappedReader reads at most left bytes of r and notes an attempt to read
// more.
type cappedReader struct {
	r    io.Reader
	left int64
	over bool
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// Anything beyond the cap is too much; a body that ends exactly
		// at it is not.
		var one [1]byte
		if n, _ := c.r.Read(one[:]); n > 0 {
			c.over = true
			return 0, errors.New("body too large")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	return kind
}
