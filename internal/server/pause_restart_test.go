package server_test

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
)

// pausedRestartCount is how many sandboxes TestPausedSandboxesAcrossRestart
// pauses: SOULBOX_PAUSED_RESTART (1 to 100, one list page), 5 by default.
func pausedRestartCount(t *testing.T) int {
	t.Helper()
	s := os.Getenv("SOULBOX_PAUSED_RESTART")
	if s == "" {
		return 5
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 {
		t.Fatalf("SOULBOX_PAUSED_RESTART=%q: use 1 to 100", s)
	}
	return n
}

// TestPausedSandboxesAcrossRestart pauses N sandboxes with their memory,
// each running a Python server holding a counter of its own value,
// restarts the server, and resumes every one: each is listed paused
// after the restart, holds no cgroup (its memory released) while
// paused, and answers through the proxy with its own counter going on.
//
//	SOULBOX_PAUSED_RESTART=100 go test -run PausedSandboxesAcrossRestart -timeout 60m ./internal/server
func TestPausedSandboxesAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	n := pausedRestartCount(t)
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.MaxSandboxes = n
	addr, stop := serveInProcess(t, cfg)
	c := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	t.Cleanup(func() {
		// Kill what a failure left, on whichever server runs, then stop it.
		var list []listedJSON
		if code, b, _ := c.do("GET", "/v2/sandboxes?limit=100", nil); code == 200 {
			_ = json.Unmarshal(b, &list)
		}
		for _, sb := range list {
			c.do("DELETE", "/sandboxes/"+sb.SandboxID, nil)
		}
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	ids := make([]string, n)
	for i := range n {
		sb := create(t, c, map[string]any{"timeout": 3600})
		ids[i] = sb.SandboxID
		// The wait loop's curl counts 1, then i more: the counter is i+1.
		script := counterServer + " for j in $(seq 50); do curl -s localhost:8000 >/dev/null && break; sleep 0.1; done;" +
			" for j in $(seq " + strconv.Itoa(i) + "); do curl -s localhost:8000 >/dev/null; done;" +
			" test \"$(curl -s localhost:8000)\" = " + strconv.Itoa(i+2)
		if o, code := sh(t, c, sb, script); code != 0 {
			t.Fatalf("sandbox %d: counter server: %d %s", i, code, o)
		}
		c.want(204, "POST", "/sandboxes/"+sb.SandboxID+"/pause", map[string]any{"memory": true}, nil)
		if dirs := cgroupsOf(t, sb.SandboxID); len(dirs) > 0 {
			t.Errorf("sandbox %d paused with its memory still has cgroups: %v", i, dirs)
		}
	}

	// The server restarts on the same data: every paused sandbox is kept.
	err := stop()
	stop = func() error { return nil }
	if err != nil {
		t.Fatal(err)
	}
	addr, stop = serveInProcess(t, cfg)
	c.base = "http://" + addr
	var list []listedJSON
	c.want(200, "GET", "/v2/sandboxes?state=paused&limit=100", nil, &list)
	paused := map[string]bool{}
	for _, sb := range list {
		if sb.State == "paused" {
			paused[sb.SandboxID] = true
		}
	}
	for i, id := range ids {
		if !paused[id] {
			code, b, _ := c.do("GET", "/sandboxes/"+id, nil)
			t.Errorf("sandbox %d (%s) is not listed paused after the restart (%d listed); GET: %d %s", i, id, len(list), code, b)
			_, ev, _ := c.do("GET", "/events?follow=false", nil)
			for _, l := range strings.Split(string(ev), "\n") {
				if strings.Contains(l, id) {
					t.Logf("event: %s", l)
				}
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Each resumes with its own memory: the counter answers i+3. Each is
	// killed once checked, so that only one runs at a time.
	for i, id := range ids {
		c.want(201, "POST", "/sandboxes/"+id+"/resume", map[string]any{"timeout": 600}, nil)
		if code, body := proxied(t, c, id, "8000"); code != 200 || body != strconv.Itoa(i+3) {
			t.Errorf("sandbox %d after resume: %d %q, want 200 %q (its memory kept)", i, code, body, strconv.Itoa(i+3))
		}
		c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
	}
}
