// Package e2e tests the proxy in front of a real sandbox: connections
// dialed into its network namespace by the OCI driver, its agent and a
// server a process inside starts.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/agent/files"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/proxy"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
)

func TestMain(m *testing.M) { ocitest.Main(m) }

type sandboxes map[string]proxy.Target

func (s sandboxes) Lookup(_ context.Context, id string) (proxy.Target, error) {
	if t, ok := s[id]; ok {
		return t, nil
	}
	return proxy.Target{}, fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
}

func (s sandboxes) Secured(context.Context) ([]proxy.Target, error) {
	var out []proxy.Target
	for _, t := range s {
		out = append(out, t)
	}
	return out, nil
}

func TestProxyToRealSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: ocitest.Templates(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := fmt.Sprintf("px%x", time.Now().UnixNano()&0xffffff)
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
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
	const token, traffic = "envd-token", "traffic-token"
	p := proxy.New(sandboxes{id: {ID: id, EnvdAccessToken: token, TrafficAccessToken: traffic}}, d.DialContext, "sandbox.test", slog.New(slog.DiscardHandler))
	front := httptest.NewServer(p)
	t.Cleanup(front.Close)

	do := func(method, path, host string, body io.Reader, kv ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, front.URL+path, body)
		if host != "" {
			req.Host = host
		}
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	// until polls a request until it answers want.
	until := func(want int, method, path, host string, kv ...string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, b := do(method, path, host, nil, kv...)
			if resp.StatusCode == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	until(http.StatusNoContent, "GET", "/health", "", "E2b-Sandbox-Id", id)
	init, _ := json.Marshal(map[string]any{"accessToken": token})
	if resp, b := do("POST", "/init", "", bytes.NewReader(init), "E2b-Sandbox-Id", id, "Content-Type", "application/json"); resp.StatusCode/100 != 2 {
		t.Fatalf("init: %d %s", resp.StatusCode, b)
	}

	t.Run("closed port", func(t *testing.T) {
		resp, b := do("GET", "/", "9-"+id+".sandbox.test:3000", nil, "E2B-Traffic-Access-Token", traffic)
		if resp.StatusCode != http.StatusBadGateway || string(b) != `{"message":"The sandbox is running but port is not open","sandboxId":"`+id+`","port":9,"code":502}`+"\n" {
			t.Errorf("%d %s", resp.StatusCode, b)
		}
	})

	t.Run("signed download", func(t *testing.T) {
		const size = 32 << 20
		if res, err := d.Exec(ctx, id, runtime.ExecRequest{Args: []string{"sh", "-c", fmt.Sprintf("head -c %d /dev/zero > /tmp/big && chmod 644 /tmp/big", size)}}); err != nil || res.ExitCode != 0 {
			t.Fatalf("write the file: %v %v", res, err)
		}
		exp := time.Now().Add(time.Minute).Unix()
		for _, user := range []string{"", "undefined"} {
			q := url.Values{"path": {"/tmp/big"}, "signature_expiration": {fmt.Sprint(exp)}}
			q.Set("signature", files.Signature("/tmp/big", "read", user, token, &exp))
			resp, b := do("GET", "/files?"+q.Encode(), "", nil)
			if resp.StatusCode != 200 || len(b) != size {
				t.Errorf("user %q: %d, %d bytes (%.200s)", user, resp.StatusCode, len(b), b)
			}
		}
		q := url.Values{"path": {"/tmp/big"}, "signature": {files.Signature("/tmp/big", "read", "", "guess", nil)}}
		if resp, b := do("GET", "/files?"+q.Encode(), "", nil); resp.StatusCode != 401 {
			t.Errorf("forged: %d %s", resp.StatusCode, b)
		}
	})

	t.Run("user port", func(t *testing.T) {
		srvCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = d.Exec(srvCtx, id, runtime.ExecRequest{Args: []string{"python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", "/tmp", "8080"}})
		}()
		t.Cleanup(func() { stop(); <-done })
		host := "8080-" + id + ".sandbox.test"
		until(http.StatusOK, "GET", "/", host, "E2B-Traffic-Access-Token", traffic)
		if resp, b := do("GET", "/", host, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("without the traffic token: %d %s", resp.StatusCode, b)
		}
		resp, b := do("GET", "/big", "", nil, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "8080", "E2B-Traffic-Access-Token", traffic)
		if resp.StatusCode != 200 || len(b) != 32<<20 {
			t.Errorf("by headers: %d, %d bytes", resp.StatusCode, len(b))
		}
	})
}
