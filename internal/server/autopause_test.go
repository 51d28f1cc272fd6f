package server_test

import (
	"testing"
	"time"
)

// waitState polls a sandbox until it is in state, or fails the test.
func waitState(t *testing.T, c apiClient, id, state string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var d listedJSON
		c.want(200, "GET", "/sandboxes/"+id, nil, &d)
		if d.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox %s is %s after %v, want %s", id, d.State, within, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestAutoPauseAndAutoResume: a sandbox created with autoPause is paused,
// not killed, at its timeout; with autoResume a request through the
// proxy resumes it and is answered by its processes as they were. A
// filesystem-only auto-pause is not resumed by traffic (502, as paused),
// only by an explicit connect. Contradictory lifecycles are refused.
func TestAutoPauseAndAutoResume(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, _ := runServer(t, nil)

	c.want(400, "POST", "/sandboxes", map[string]any{"templateID": "base", "autoResume": map[string]any{"enabled": true}}, nil)
	c.want(400, "POST", "/sandboxes", map[string]any{"templateID": "base", "autoPause": true, "autoPauseMemory": false,
		"autoResume": map[string]any{"enabled": true}}, nil)
	var list []listedJSON
	c.want(200, "GET", "/v2/sandboxes", nil, &list)
	if len(list) != 0 {
		t.Fatalf("refused creates left sandboxes: %+v", list)
	}

	// Made with time for the setup, however loaded the host; its timeout
	// is shortened once the setup is done.
	sb := create(t, c, map[string]any{"timeout": 600, "autoPause": true, "autoResume": map[string]any{"enabled": true}})
	id := sb.SandboxID
	defer c.do("DELETE", "/sandboxes/"+id, nil)
	var detail struct {
		Lifecycle struct {
			AutoResume bool   `json:"autoResume"`
			OnTimeout  string `json:"onTimeout"`
		} `json:"lifecycle"`
	}
	c.want(200, "GET", "/sandboxes/"+id, nil, &detail)
	if detail.Lifecycle.OnTimeout != "pause" || !detail.Lifecycle.AutoResume {
		t.Errorf("lifecycle %+v, want onTimeout pause and autoResume", detail.Lifecycle)
	}
	if o, code := sh(t, c, sb, counterServer+" for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"); code != 0 {
		t.Fatalf("counter server did not start: %s", o)
	}
	c.want(204, "POST", "/sandboxes/"+id+"/timeout", map[string]any{"timeout": 3}, nil)
	waitState(t, c, id, "paused", 30*time.Second)
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "2" {
		t.Errorf("request to an auto-paused sandbox with autoResume: %d %q, want 200 \"2\"", code, body)
	}
	waitState(t, c, id, "running", time.Second)

	fs := create(t, c, map[string]any{"timeout": 600, "autoPause": true, "autoPauseMemory": false})
	defer c.do("DELETE", "/sandboxes/"+fs.SandboxID, nil)
	if o, code := sh(t, c, fs, "echo kept > /home/user/kept.txt"); code != 0 {
		t.Fatal(o)
	}
	c.want(204, "POST", "/sandboxes/"+fs.SandboxID+"/timeout", map[string]any{"timeout": 3}, nil)
	waitState(t, c, fs.SandboxID, "paused", 30*time.Second)
	if code, body := proxied(t, c, fs.SandboxID, "49983"); code != 502 {
		t.Errorf("request to a filesystem-only paused sandbox: %d %q, want 502", code, body)
	}
	waitState(t, c, fs.SandboxID, "paused", time.Second)
	c.want(201, "POST", "/sandboxes/"+fs.SandboxID+"/connect", map[string]any{"timeout": 60}, nil)
	if o, _ := sh(t, c, fs, "cat /home/user/kept.txt"); o != "kept\n" {
		t.Errorf("file after connect: %q", o)
	}
}
