package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/server"
)

// hostServer is a server in the sandbox on port 8000 that answers with
// the Host header it received.
const hostServer = `setsid python3 -c '
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = ("host=" + self.headers.get("Host", "")).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
http.server.HTTPServer(("0.0.0.0", 8000), H).serve_forever()
' >/dev/null 2>&1 < /dev/null &`

func proxied(t *testing.T, c apiClient, id string, port string, header ...string) (int, string) {
	t.Helper()
	return proxiedDo(t, c, "GET", "/", "", id, port, header...)
}

// proxiedDo sends method path with body to port of sandbox id through
// the proxy.
func proxiedDo(t *testing.T, c apiClient, method, path, body, id, port string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("E2b-Sandbox-Id", id)
	req.Header.Set("E2b-Sandbox-Port", port)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSandboxIngress(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, _ := runServer(t, nil)
	cl := &client.Client{BaseURL: c.base, APIKey: c.key}
	start := func(sb sandboxJSON) {
		t.Helper()
		got, err := cl.Get(context.Background(), sb.SandboxID)
		if err != nil {
			t.Fatal(err)
		}
		got.EnvdAccessToken = *sb.EnvdAccessToken
		if code, err := cl.Exec(context.Background(), got, []string{"bash", "-c", hostServer}, client.ExecOptions{}); err != nil || code != 0 {
			t.Fatalf("start server: %d %v", code, err)
		}
		for i := 0; i < 100; i++ {
			if code, _ := proxied(t, c, sb.SandboxID, "8000", "e2b-traffic-access-token", tokenOf(sb)); code == 200 {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatal("the server in the sandbox never answered")
	}

	t.Run("private traffic needs the token", func(t *testing.T) {
		sb := create(t, c, map[string]any{"network": map[string]any{"allowPublicTraffic": false, "maskRequestHost": "app.local:${PORT}"}})
		if sb.TrafficAccessToken == nil || *sb.TrafficAccessToken == "" {
			t.Fatal("no trafficAccessToken in the create response")
		}
		start(sb)
		if code, body := proxied(t, c, sb.SandboxID, "8000"); code != 403 {
			t.Errorf("without the token: %d %s", code, body)
		}
		if code, body := proxied(t, c, sb.SandboxID, "8000", "e2b-traffic-access-token", "wrong"); code != 403 {
			t.Errorf("with a wrong token: %d %s", code, body)
		}
		code, body := proxied(t, c, sb.SandboxID, "8000", "e2b-traffic-access-token", *sb.TrafficAccessToken)
		if code != 200 || body != "host=app.local:8000" {
			t.Errorf("with the token: %d %q, want the masked host", code, body)
		}
		// connect returns the token too.
		var again sandboxJSON
		c.want(200, "POST", "/sandboxes/"+sb.SandboxID+"/connect", map[string]any{"timeout": 60}, &again)
		if again.TrafficAccessToken == nil || *again.TrafficAccessToken != *sb.TrafficAccessToken {
			t.Errorf("connect: trafficAccessToken %v", again.TrafficAccessToken)
		}
	})
	t.Run("private traffic guards the interpreter's contexts", func(t *testing.T) {
		sb := create(t, c, map[string]any{"network": map[string]any{"allowPublicTraffic": false}})
		tok := tokenOf(sb)
		if tok == "" {
			t.Fatal("no trafficAccessToken in the create response")
		}
		body := `{"language":"python"}`
		if code, out := proxiedDo(t, c, "POST", "/contexts", body, sb.SandboxID, "49999"); code != 401 {
			t.Errorf("POST /contexts without a token: %d %s, want 401", code, out)
		}
		if code, out := proxiedDo(t, c, "POST", "/contexts", body, sb.SandboxID, "49999", "E2B-Traffic-Access-Token", "wrong"); code != 401 {
			t.Errorf("POST /contexts with a wrong traffic token: %d %s, want 401", code, out)
		}
		if code, out := proxiedDo(t, c, "POST", "/contexts", body, sb.SandboxID, "49999", "E2B-Traffic-Access-Token", tok); code != 200 || !strings.Contains(out, `"id"`) {
			t.Errorf("POST /contexts with the traffic token: %d %s", code, out)
		}
	})
	t.Run("user binds a low port and opens an ICMP socket", func(t *testing.T) {
		sb := create(t, c, map[string]any{})
		got, err := cl.Get(context.Background(), sb.SandboxID)
		if err != nil {
			t.Fatal(err)
		}
		got.EnvdAccessToken = *sb.EnvdAccessToken
		var out strings.Builder
		script := `import socket, os
s = socket.socket(); s.bind(("0.0.0.0", 80))
i = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
print(os.getuid(), "ok")`
		code, err := cl.Exec(context.Background(), got, []string{"python3", "-c", script}, client.ExecOptions{Stdout: &out, Stderr: &out})
		if err != nil || code != 0 || out.String() != "1000 ok\n" {
			t.Errorf("as user: %d %v %q", code, err, out.String())
		}
	})
	t.Run("public by default", func(t *testing.T) {
		sb := create(t, c, map[string]any{})
		if sb.TrafficAccessToken != nil {
			t.Errorf("a public sandbox has a traffic token")
		}
		start(sb)
		if code, body := proxied(t, c, sb.SandboxID, "8000"); code != 200 || !strings.HasPrefix(body, "host=") {
			t.Errorf("%d %s", code, body)
		}
		code, body := proxied(t, c, sb.SandboxID, "8001")
		want := `{"message":"The sandbox is running but port is not open","sandboxId":"` + sb.SandboxID + `","port":8001,"code":502}` + "\n"
		if code != 502 || body != want {
			t.Errorf("closed port: %d %q, want %q", code, body, want)
		}
		c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
		code, body = proxied(t, c, sb.SandboxID, "8000")
		want = `{"message":"The sandbox was not found","sandboxId":"` + sb.SandboxID + `","code":502}` + "\n"
		if code != 502 || body != want {
			t.Errorf("killed: %d %q, want %q", code, body, want)
		}
	})
}

func tokenOf(sb sandboxJSON) string {
	if sb.TrafficAccessToken == nil {
		return ""
	}
	return *sb.TrafficAccessToken
}

// A private sandbox handed out by the warm pool guards the interpreter's
// context routes as a cold one does: the claim's /init carries the
// traffic token.
func TestPooledPrivateSandboxGuardsContexts(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, _ := runServer(t, func(cfg *server.Config) { cfg.PoolMin, cfg.PoolMax = 1, 1 })
	waitPool(t, c, 1)
	sb := create(t, c, map[string]any{"network": map[string]any{"allowPublicTraffic": false}})
	if st := poolStats(t, c); st.Hits != 1 {
		t.Fatalf("the create was not served from the pool: %+v", st)
	}
	body := `{"language":"python"}`
	if code, out := proxiedDo(t, c, "POST", "/contexts", body, sb.SandboxID, "49999"); code != 401 {
		t.Errorf("POST /contexts without a token: %d %s, want 401", code, out)
	}
	if code, out := proxiedDo(t, c, "POST", "/contexts", body, sb.SandboxID, "49999", "E2B-Traffic-Access-Token", tokenOf(sb)); code != 200 {
		t.Errorf("POST /contexts with the traffic token: %d %s", code, out)
	}
}
