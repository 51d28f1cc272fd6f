package server_test

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

type gotSpan struct {
	name, trace, id, parent string
	attrs                   map[string]string
}

// otlpReceiver is an OTLP/HTTP trace endpoint on loopback that keeps the
// spans it is sent.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []gotSpan
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var req coltrace.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(b, &req) != nil {
		http.Error(w, "bad export", 400)
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				g := gotSpan{name: sp.Name, trace: hex.EncodeToString(sp.TraceId), id: hex.EncodeToString(sp.SpanId),
					parent: hex.EncodeToString(sp.ParentSpanId), attrs: map[string]string{}}
				for _, a := range sp.Attributes {
					if v := a.Value.GetStringValue(); v != "" {
						g.attrs[a.Key] = v
					}
				}
				o.spans = append(o.spans, g)
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Write(out)
}

// find waits for a span named name in trace.
func (o *otlpReceiver) find(t *testing.T, trace, name string) gotSpan {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		o.mu.Lock()
		for _, sp := range o.spans {
			if sp.trace == trace && sp.name == name {
				o.mu.Unlock()
				return sp
			}
		}
		o.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no span %q in trace %s", name, trace)
	return gotSpan{}
}

// TestTracesOverOTLP: with OTEL_EXPORTER_OTLP_ENDPOINT set, a create and
// a proxied agent call are traced as children of the caller's
// traceparent, and the runtime and store calls of the create as
// children of its span, with the sandbox's id.
func TestTracesOverOTLP(t *testing.T) {
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

	const trace, caller = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest("POST", c.base+"/sandboxes", strings.NewReader(`{"templateID":"base"}`))
	req.Header.Set("X-API-Key", c.key)
	req.Header.Set("traceparent", "00-"+trace+"-"+caller+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sb sandboxJSON
	if err := jsonDecode(resp, &sb); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, err)
	}

	create := recv.find(t, trace, "POST /sandboxes")
	if create.parent != caller || create.attrs["sandbox.id"] != sb.SandboxID || create.attrs["sandbox.template"] != "base" || create.attrs["http.route"] != "/sandboxes" {
		t.Errorf("create span %+v", create)
	}
	for _, name := range []string{"runtime.create", "runtime.start", "store.create_sandbox"} {
		sp := recv.find(t, trace, name)
		if sp.parent != create.id || sp.attrs["sandbox.id"] != sb.SandboxID {
			t.Errorf("%s: %+v, want a child of %s about %s", name, sp, create.id, sb.SandboxID)
		}
	}

	// A call to the agent through the proxy.
	req, _ = http.NewRequest("GET", c.base+"/health", nil)
	req.Header.Set("E2b-Sandbox-Id", sb.SandboxID)
	req.Header.Set("traceparent", "00-"+trace+"-"+caller+"-01")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if px := recv.find(t, trace, "proxy agent"); px.parent != caller {
		t.Errorf("proxy span %+v", px)
	}
}
