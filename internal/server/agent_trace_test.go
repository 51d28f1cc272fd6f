package server_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// spansNamed returns the spans of trace called name received so far.
func (o *otlpReceiver) spansNamed(trace, name string) []gotSpan {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []gotSpan
	for _, sp := range o.spans {
		if sp.trace == trace && sp.name == name {
			out = append(out, sp)
		}
	}
	return out
}

// TestTraceReachesTheAgent: one trace from the caller through the API's
// create, the proxy's call to the agent, to the agent's own process start
// and file write, each a child of the one before: the agent reports its
// steps' times (Server-Timing) and the proxy records them as spans under
// its own.
func TestTraceReachesTheAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	c, _ := runServer(t, nil)

	const trace, caller = "5bf92f3577b34da6a3ce929d0e0e4737", "10f067aa0ba902b8"
	traceparent := "00-" + trace + "-" + caller + "-01"
	call := func(method, path, contentType string, body []byte, sandbox, token string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(body))
		req.Header.Set("traceparent", traceparent)
		req.Header.Set("Content-Type", contentType)
		if sandbox == "" {
			req.Header.Set("X-API-Key", c.key)
		} else {
			req.Header.Set("E2b-Sandbox-Id", sandbox)
			req.Header.Set("E2b-Sandbox-Port", "49983")
			req.Header.Set("X-Access-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	var sb sandboxJSON
	code, b := call("POST", "/sandboxes", "application/json", []byte(`{"templateID":"base"}`), "", "")
	if code != 201 || json.Unmarshal(b, &sb) != nil {
		t.Fatalf("create: %d %s", code, b)
	}
	create := recv.find(t, trace, "POST /sandboxes")
	if create.parent != caller {
		t.Errorf("create span %+v, want a child of the caller", create)
	}

	// commands.run's call: a Connect server stream, JSON codec.
	msg := []byte(`{"process":{"cmd":"/bin/bash","args":["-l","-c","true"]},"stdin":false}`)
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	if code, b := call("POST", "/process.Process/Start", "application/connect+json", append(frame, msg...), sb.SandboxID, *sb.EnvdAccessToken); code != 200 || !strings.Contains(string(b), `"exited":true`) {
		t.Fatalf("process start: %d %q", code, b)
	}
	// files.write's call.
	if code, b := call("POST", "/files?path=/home/user/traced.txt&username=user", "application/octet-stream", []byte("hello"), sb.SandboxID, *sb.EnvdAccessToken); code != 200 {
		t.Fatalf("upload: %d %s", code, b)
	}

	proxies := map[string]gotSpan{}
	for _, name := range []string{"agent process.start", "agent files.write"} {
		step := recv.find(t, trace, name)
		for _, px := range recv.spansNamed(trace, "proxy agent") {
			proxies[px.id] = px
		}
		px, ok := proxies[step.parent]
		if !ok || px.parent != caller {
			t.Errorf("%s: %+v, want a child of a proxy agent span that is a child of the caller; proxy spans %+v", name, step, proxies)
		}
	}
}
