package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// TestDecodersRefuseOutOfBounds: every numeric field of the API is checked
// against its documented bounds, and the message names the field and the
// bounds. 18446744074 seconds is the timeout that wrapped to 0.29 s when
// multiplied into a time.Duration.
func TestDecodersRefuseOutOfBounds(t *testing.T) {
	body := func(s string) func() error {
		return func() error { _, err := decodeCreate(strings.NewReader(s)); return err }
	}
	timeout := func(s string) func() error {
		return func() error { _, err := decodeTimeout(strings.NewReader(s), true); return err }
	}
	refresh := func(s string) func() error {
		return func() error { _, err := decodeRefresh(strings.NewReader(s)); return err }
	}
	list := func(q string) func() error {
		return func() error { _, err := parseListQuery(q); return err }
	}
	metrics := func(q string) func() error {
		return func() error { _, _, err := parseMetricsRange(q); return err }
	}
	logs := func(q string) func() error {
		return func() error { _, _, err := parseLogsQuery(q); return err }
	}
	for _, tc := range []struct {
		name string
		run  func() error
		want []string // in the message
	}{
		{"CreateTimeoutWraps", body(`{"templateID":"base","timeout":18446744074}`), []string{"timeout", "1 to 86400"}},
		{"CreateTimeoutHuge", body(`{"templateID":"base","timeout":1e30}`), []string{"timeout", "1 to 86400"}},
		{"CreateTimeoutZero", body(`{"templateID":"base","timeout":0}`), []string{"timeout", "1 to 86400"}},
		{"CreateTimeoutFraction", body(`{"templateID":"base","timeout":1.5}`), []string{"timeout", "1 to 86400"}},
		{"CreateTimeoutString", body(`{"templateID":"base","timeout":"10"}`), []string{"timeout", "1 to 86400"}},
		{"CreateCPUHuge", body(`{"templateID":"base","cpuCount":99999999999999999999}`), []string{"cpuCount", "0 to 1024"}},
		{"CreateCPUNegative", body(`{"templateID":"base","cpuCount":-1}`), []string{"cpuCount", "0 to 1024"}},
		{"CreateMemoryHuge", body(`{"templateID":"base","memoryMB":4294967296}`), []string{"memoryMB", "0 to 1048576"}},
		{"CreateMemoryNegative", body(`{"templateID":"base","memoryMB":-1}`), []string{"memoryMB"}},
		{"CreateWrongType", body(`{"templateID":5}`), []string{"templateID", "a string"}},
		{"CreateTrailing", body(`{"templateID":"base"} {}`), []string{"after the object"}},
		{"CreateTooLarge", body(`{"templateID":"base","metadata":{"k":"` + strings.Repeat("x", maxBody) + `"}}`), []string{"body larger than 1048576 bytes"}},
		{"CreateTooLargeAfterObject", body(`{"templateID":"base"}` + strings.Repeat(" ", maxBody)), []string{"body larger than 1048576 bytes"}},
		{"TimeoutOverflow", timeout(`{"timeout":9223372036854775807}`), []string{"timeout", "1 to 86400"}},
		{"TimeoutNegative", timeout(`{"timeout":-5}`), []string{"timeout", "1 to 86400"}},
		{"TimeoutMissing", timeout(`{}`), []string{"timeout", "required"}},
		{"RefreshHuge", refresh(`{"duration":18446744074}`), []string{"duration", "0 to 86400"}},
		{"RefreshNegative", refresh(`{"duration":-1}`), []string{"duration", "0 to 86400"}},
		{"ListLimitZero", list("limit=0"), []string{"limit", "1 to 100"}},
		{"ListLimitBig", list("limit=101"), []string{"limit", "1 to 100"}},
		{"ListLimitOverflow", list("limit=99999999999999999999"), []string{"limit", "1 to 100"}},
		{"ListLimitText", list("limit=ten"), []string{"limit", "1 to 100"}},
		{"ListStartedBefore", list("startedBefore=yesterday"), []string{"startedBefore", "RFC 3339"}},
		{"ListOrder", list("order=random"), []string{"order"}},
		{"MetricsStartNegative", metrics("start=-1"), []string{"start", "0 to 253402300799"}},
		{"MetricsEndOverflow", metrics("end=99999999999999999999"), []string{"end", "0 to 253402300799"}},
		{"MetricsEndFar", metrics("end=253402300800"), []string{"end", "0 to 253402300799"}},
		{"MetricsStartAfterEnd", metrics("start=20&end=10"), []string{"start", "after end"}},
		{"LogsLimitZero", logs("limit=0"), []string{"limit", "1 to 1000"}},
		{"LogsLimitBig", logs("limit=1001"), []string{"limit", "1 to 1000"}},
		{"LogsStartNegative", logs("start=-1"), []string{"start"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("err = %v, want invalid argument", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestDecodersAcceptBounds(t *testing.T) {
	for _, s := range []string{``, `{}`, `{"templateID":"base","timeout":1}`, `{"templateID":"base","timeout":86400,"cpuCount":1,"memoryMB":1048576}`,
		`{"templateID":"base","autoPause":true,"mcp":null,"network":{"allowOut":[]}}`} {
		if _, err := decodeCreate(strings.NewReader(s)); err != nil {
			t.Errorf("create %s: %v", s, err)
		}
	}
	if d, err := decodeRefresh(strings.NewReader(`{"duration":0}`)); err != nil || d.Seconds() != 60 {
		t.Errorf("refresh 0: %v, %v; want 60 s", d, err)
	}
	for _, q := range []string{"", "limit=1", "limit=100", "order=asc", "startedAfter=2026-01-02T15:04:05Z&startedBefore=2026-01-02T15:04:05.123Z"} {
		if _, err := parseListQuery(q); err != nil {
			t.Errorf("list %q: %v", q, err)
		}
	}
	if s, _, err := parseMetricsRange("start=0"); err != nil || s.Unix() != 0 {
		t.Errorf("metrics range from 0: %v %v", s, err)
	}
	if _, e, err := parseMetricsRange("end=253402300799"); err != nil || e.Unix() != 253402300799 {
		t.Errorf("metrics range to the last second: %v %v", e, err)
	}
	if _, _, err := parseMetricsRange("start=0&end=2678400"); err != nil {
		t.Errorf("metrics range of 31 days: %v", err)
	}
	if _, _, err := parseMetricsRange("start=0&end=2678401"); err == nil {
		t.Errorf("metrics range of 31 days and a second: accepted")
	}
	if s, n, err := parseLogsQuery("start=253402300799999&limit=1000"); err != nil || n != 1000 || s != 253402300799999 {
		t.Errorf("logs: %v %v %v", s, n, err)
	}
}

// TestOpenAPIBounds keeps the documented bounds and the checked ones the
// same.
func TestOpenAPIBounds(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	get := func(v any, path ...string) map[string]any {
		for _, p := range path {
			switch x := v.(type) {
			case map[string]any:
				v = x[p]
			case []any:
				for _, e := range x {
					if m, _ := e.(map[string]any); m["name"] == p {
						v = m
					}
				}
			}
		}
		m, _ := v.(map[string]any)
		return m
	}
	for _, tc := range []struct {
		b      bound
		schema map[string]any
	}{
		{timeoutBound, get(doc, "components", "schemas", "NewSandbox", "properties", "timeout")},
		{cpuBound, get(doc, "components", "schemas", "NewSandbox", "properties", "cpuCount")},
		{memoryBound, get(doc, "components", "schemas", "NewSandbox", "properties", "memoryMB")},
		{timeoutBound, get(doc, "paths", "/sandboxes/{id}/timeout", "post", "requestBody", "content", "application/json", "schema", "properties", "timeout")},
		{timeoutBound, get(doc, "paths", "/sandboxes/{id}/connect", "post", "requestBody", "content", "application/json", "schema", "properties", "timeout")},
		{durationBound, get(doc, "paths", "/sandboxes/{id}/refreshes", "post", "requestBody", "content", "application/json", "schema", "properties", "duration")},
		{limitBound, get(doc, "paths", "/v2/sandboxes", "get", "parameters", "limit", "schema")},
		{startBound, get(doc, "paths", "/sandboxes/{id}/metrics", "get", "parameters", "start", "schema")},
		{endBound, get(doc, "paths", "/sandboxes/{id}/metrics", "get", "parameters", "end", "schema")},
		{logStartBound, get(doc, "paths", "/sandboxes/{id}/logs", "get", "parameters", "start", "schema")},
		{logLimitBound, get(doc, "paths", "/sandboxes/{id}/logs", "get", "parameters", "limit", "schema")},
		{egressBound, get(doc, "components", "schemas", "SandboxNetworkConfig", "properties", "egressMbps")},
		{ingressBound, get(doc, "components", "schemas", "SandboxNetworkConfig", "properties", "ingressMbps")},
		{connBound, get(doc, "components", "schemas", "SandboxNetworkConfig", "properties", "maxConnections")},
	} {
		if tc.schema == nil {
			t.Errorf("%s: not in openapi.json", tc.b.field)
			continue
		}
		if tc.schema["minimum"] != float64(tc.b.min) || tc.schema["maximum"] != float64(tc.b.max) {
			t.Errorf("%s: openapi.json says %v to %v, the API checks %d to %d", tc.b.field, tc.schema["minimum"], tc.schema["maximum"], tc.b.min, tc.b.max)
		}
	}
}
