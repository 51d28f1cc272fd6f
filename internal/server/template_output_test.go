package server_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
	"github.com/soulbox/soulbox/internal/testutil"
)

// A step that prints invalid UTF-8 and NUL bytes and fails, on a server
// whose store is PostgreSQL (whose text columns refuse both): the build
// ends as an error with its reason and log, instead of staying
// "building" with its log batches dropped.
func TestBuildWithRawOutputEnds(t *testing.T) {
	testutil.RequiresRoot(t)
	if testing.Short() {
		t.Skip("builds a template")
	}
	url := pgtest.Start(t).NewDatabase(t)
	c, _ := runServer(t, func(cfg *server.Config) {
		privateTemplates(t, cfg)
		cfg.Store = url
		cfg.PoolPrewarm = "none"
	})
	var req struct {
		TemplateID string `json:"templateID"`
		BuildID    string `json:"buildID"`
	}
	c.want(202, "POST", "/v3/templates", map[string]any{"name": "raw-output", "cpuCount": 1, "memoryMB": 512}, &req)
	c.want(202, "POST", "/v2/templates/"+req.TemplateID+"/builds/"+req.BuildID, map[string]any{
		"fromTemplate": "base",
		"steps":        []map[string]any{{"type": "RUN", "args": []string{`printf 'before\n'; printf 'bad \377 byte\n'; printf 'nul\000here\n'; exit 3`}}},
	}, nil)
	type entry struct {
		Message string `json:"message"`
		Step    string `json:"step"`
	}
	var st struct {
		Status     string  `json:"status"`
		LogEntries []entry `json:"logEntries"`
		Reason     *struct {
			Message string `json:"message"`
			Step    string `json:"step"`
		} `json:"reason"`
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c.want(200, "GET", "/templates/"+req.TemplateID+"/builds/"+req.BuildID+"/status", nil, &st)
		if st.Status == "error" || st.Status == "ready" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the build is still %s", st.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Status != "error" || st.Reason == nil || st.Reason.Step != "1" {
		t.Fatalf("build ended %s, reason %+v", st.Status, st.Reason)
	}
	if !strings.Contains(st.Reason.Message, "code 3") || !strings.Contains(st.Reason.Message, "bad \uFFFD byte") ||
		!strings.Contains(st.Reason.Message, "nulhere") {
		t.Errorf("reason %q", st.Reason.Message)
	}
	var lines []string
	for _, e := range st.LogEntries {
		lines = append(lines, e.Message)
		if !utf8.ValidString(e.Message) || strings.ContainsRune(e.Message, 0) {
			t.Errorf("log line not printable: %q", e.Message)
		}
	}
	log := strings.Join(lines, "\n")
	for _, want := range []string{"before", "bad \uFFFD byte", "nulhere"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
}
