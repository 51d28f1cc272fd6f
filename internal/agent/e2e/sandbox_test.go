// Package e2e tests the agent where it runs: as pid 1 of a real sandbox,
// reached from the host through the driver's Dialer, spoken to with the
// same Connect clients and HTTP calls the E2B SDKs make.
package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/soulbox/soulbox/api/envd/process/processconnect"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
)

func TestMain(m *testing.M) { ocitest.Main(m) }

// agentURL is the base URL clients use; the transport ignores the host
// and dials the sandbox's port 49983.
const agentURL = "http://agent"

var seq atomic.Int64

// sandbox is a running sandbox with a client for its agent.
type sandbox struct {
	id     string
	driver *oci.Driver
	http   *http.Client
	token  string
}

// newSandbox creates and starts a sandbox from base and waits for its agent.
func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	return newSandboxWith(t, runtime.Limits{DiskMB: 2048})
}

// newSandboxWith is newSandbox with the given limits.
func newSandboxWith(t *testing.T, limits runtime.Limits) *sandbox {
	t.Helper()
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: ocitest.Templates(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := fmt.Sprintf("e2e%d%x", seq.Add(1), time.Now().UnixNano()&0xfffff)
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base", Limits: limits}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Destroy(context.Background(), id); err != nil {
			t.Errorf("destroy: %v", err)
		}
	})
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	s := &sandbox{id: id, driver: d}
	s.http = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, id, 49983)
		},
	}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := s.http.Get(agentURL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent not healthy: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// header returns the headers E2B's SDK sends: the user as Basic auth and
// the access token once one is set.
func (s *sandbox) header(user string) http.Header {
	h := http.Header{}
	if user != "" {
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":")))
	}
	if s.token != "" {
		h.Set("X-Access-Token", s.token)
	}
	return h
}

func (s *sandbox) process() processconnect.ProcessClient {
	return processconnect.NewProcessClient(s.http, agentURL)
}

// init sends POST /init as the control plane does.
func (s *sandbox) init(t *testing.T, body map[string]any) *http.Response {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, agentURL+"/init", bytes.NewReader(b))
	req.Header = s.header("")
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func withHeader[T any](msg *T, h http.Header) *connect.Request[T] {
	req := connect.NewRequest(msg)
	for k, v := range h {
		req.Header()[k] = v
	}
	return req
}
