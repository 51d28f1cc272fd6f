package registry_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/node"
	"github.com/soulbox/soulbox/internal/nodeagent"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/nodetoken"
	"github.com/soulbox/soulbox/internal/registry"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// clock is the real time moved forward by what tests add, for the
// heartbeat monitor.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.off += d; c.mu.Unlock() }

type env struct {
	st    store.Store
	reg   *registry.Registry
	ca    *nodeca.CA
	url   string
	clock *clock
}

// newEnv is a registry on a real SQLite store, serving the node service
// over TLS on loopback as the server's node listener does.
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvEmbedded(t, "")
}

// newEnvEmbedded is newEnv with an embedded node of id embedded ("":
// none), as a server with its own node has.
func newEnvEmbedded(t *testing.T, embedded string) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ca, err := nodeca.Open(filepath.Join(dir, "node-ca"))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{}
	var local *node.Local
	if embedded != "" {
		local = &node.Local{ID: embedded}
	}
	reg, err := registry.New(ctx, registry.Config{Store: st, CA: ca, HeartbeatTimeout: 3 * time.Second, Embedded: local, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := ca.ServerTLS([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(reg.Handler())
	// Served as the server serves it: over the listener's own TLS (not
	// httptest's StartTLS, which adds a certificate of its own).
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = tls.NewListener(srv.Listener, tc)
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{st: st, reg: reg, ca: ca, url: "https://" + srv.Listener.Addr().String(), clock: c}
}

func (e *env) token(t *testing.T) string {
	t.Helper()
	tok, _, err := e.reg.CreateToken(context.Background(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// join runs a node until its first heartbeat is recorded, then stops it
// as SIGTERM would; it returns Run's error. name "" runs a joined node
// (of id watch, or name).
func (e *env) join(t *testing.T, dataDir, name, token string, watch ...string) error {
	t.Helper()
	id := name
	if len(watch) > 0 {
		id = watch[0]
	}
	var since time.Time
	if n, err := e.st.GetNode(context.Background(), id); err == nil {
		since = n.HeartbeatAt
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- nodeagent.Run(ctx, nodeagent.Config{ControlPlane: e.url, JoinToken: token, DataDir: dataDir, Name: name})
	}()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case err := <-done:
			cancel()
			return err
		case <-deadline:
			cancel()
			t.Fatalf("node %s: no heartbeat", name)
		case <-time.After(20 * time.Millisecond):
		}
		if n, err := e.st.GetNode(context.Background(), id); err == nil && n.HeartbeatAt.After(since) {
			cancel()
			return <-done
		}
	}
}

// TestJoinAndHeartbeat: a node joins with a token, heartbeats over
// mutual TLS with its host's figures, keeps a 0600 key, and reports
// draining when stopped; the next start needs no token.
func TestJoinAndHeartbeat(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	if err := e.join(t, dir, "node-a", e.token(t)); err != nil {
		t.Fatal(err)
	}
	n, err := e.st.GetNode(context.Background(), "node-a")
	if err != nil {
		t.Fatal(err)
	}
	if n.Status != store.NodeDraining || n.StatusBy != store.ByNode || n.Report.CPUCount < 1 || n.Report.MemoryTotalBytes == 0 ||
		n.Report.DiskTotalBytes == 0 || n.CertFingerprint == "" {
		t.Errorf("node after its first run: %+v", n)
	}
	fi, err := os.Stat(filepath.Join(dir, "node", "node-key.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("node key: %v, %v", fi, err)
	}
	// The second start: no token, mutual TLS, ready again.
	if err := e.join(t, dir, "", "", "node-a"); err != nil {
		t.Fatal(err)
	}
	toks, _ := e.reg.ListTokens(context.Background())
	if len(toks) != 1 || toks[0].UsedBy != "node-a" {
		t.Errorf("tokens %+v", toks)
	}
	ns, err := e.reg.Nodes(context.Background())
	if err != nil || len(ns) != 1 || ns[0].ID != "node-a" || ns[0].CPUCount < 1 {
		t.Errorf("listed nodes %+v, %v", ns, err)
	}
}

// TestJoinRefused: a reused, unknown, expired, revoked or malformed
// token, a token pinning another CA, a name already taken and a bad name
// are refused with a clear error, and nothing is registered.
func TestJoinRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	used := e.token(t)
	if err := e.join(t, t.TempDir(), "first", used); err != nil {
		t.Fatal(err)
	}
	unknown := nodetoken.New(e.ca.Fingerprint()).String()
	expired, rec, _ := e.reg.CreateToken(ctx, time.Minute)
	e.clock.add(2 * time.Minute)
	revoked := e.token(t)
	rt, _ := nodetoken.Parse(revoked)
	if err := e.reg.RevokeToken(ctx, rt.ID); err != nil {
		t.Fatal(err)
	}
	other, err := nodeca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	good := e.token(t)
	gt, _ := nodetoken.Parse(good)
	otherCA := nodetoken.Token{ID: gt.ID, Secret: gt.Secret, CAFingerprint: other.Fingerprint()}.String()
	for _, c := range []struct {
		name, token, node, want string
	}{
		{"reused", used, "second", "already used"},
		{"unknown", unknown, "second", "not valid"},
		{"expired", expired, "second", "expired"},
		{"revoked", revoked, "second", "revoked"},
		{"malformed", "sbn1.nope", "second", "sbn1.<id>.<secret>.<ca-fingerprint>"},
		{"another CA", otherCA, "second", "does not match the join token's fingerprint"},
		{"a taken name", good, "first", "already registered"},
		{"a bad name", good, "Bad_Name", "node name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := e.join(t, t.TempDir(), c.node, c.token)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("join: %v; want an error saying %q", err, c.want)
			}
		})
	}
	ns, _ := e.st.ListNodes(ctx)
	if len(ns) != 1 || ns[0].ID != "first" {
		t.Errorf("refused joins registered nodes: %+v", ns)
	}
	// The good token survived the refusals: the pin failed before it was sent,
	// and a taken name does not spend it.
	if err := e.join(t, t.TempDir(), "third", good); err != nil {
		t.Errorf("the unspent token: %v", err)
	}
	_ = rec
}

func csr(t *testing.T, cn string, dns ...string) []byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// TestJoinCSR: a CSR naming another node, asking for more names, or not
// a CSR at all is refused and spends nothing; a heartbeat without a
// client certificate is refused.
func TestJoinCSR(t *testing.T) {
	e := newEnv(t)
	tk, _ := nodetoken.Parse(e.token(t))
	c := nodev1connect.NewNodeServiceClient(&http.Client{Transport: &http.Transport{TLSClientConfig: nodeca.PinnedTLS(tk.CAFingerprint, "127.0.0.1")}}, e.url)
	for _, cc := range []struct {
		name string
		csr  []byte
		code connect.Code
	}{
		{"another name", csr(t, "someone-else"), connect.CodePermissionDenied},
		{"more names", csr(t, "node-x", "evil.example"), connect.CodePermissionDenied},
		{"not a CSR", []byte("hello"), connect.CodeInvalidArgument},
	} {
		_, err := c.Join(context.Background(), connect.NewRequest(&nodev1.JoinRequest{Token: tk.ID + "." + tk.Secret, Name: "node-x", CsrPem: cc.csr}))
		if connect.CodeOf(err) != cc.code {
			t.Errorf("%s: %v, want %v", cc.name, err, cc.code)
		}
	}
	if ns, _ := e.st.ListNodes(context.Background()); len(ns) != 0 {
		t.Errorf("registered %+v", ns)
	}
	_, err := c.Heartbeat(context.Background(), connect.NewRequest(&nodev1.HeartbeatRequest{Capacity: &nodev1.Capacity{CpuCount: 1, MemoryTotalBytes: 1}}))
	if connect.CodeOf(err) != connect.CodeUnauthenticated || !strings.Contains(err.Error(), "client certificate") {
		t.Errorf("a heartbeat without a certificate: %v", err)
	}
	// The token is still good.
	if _, err := c.Join(context.Background(), connect.NewRequest(&nodev1.JoinRequest{Token: tk.ID + "." + tk.Secret, Name: "node-x", CsrPem: csr(t, "node-x")})); err != nil {
		t.Errorf("join after refused CSRs: %v", err)
	}
}

// TestHeartbeatMonitor: a node that stops heartbeating becomes unhealthy
// with the reason after the timeout, durably; it is ready again at its
// next heartbeat. An admin's drain holds across heartbeats and misses.
func TestHeartbeatMonitor(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	if err := e.join(t, dir, "node-m", e.token(t)); err != nil {
		t.Fatal(err)
	}
	if err := e.join(t, dir, "", "", "node-m"); err != nil { // ready again, then draining (stopped)
		t.Fatal(err)
	}
	if err := e.reg.CheckHeartbeats(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.st.GetNode(ctx, "node-m"); n.Status != store.NodeDraining {
		t.Fatalf("within the timeout the node is %s", n.Status)
	}
	e.clock.add(4 * time.Second)
	if err := e.reg.CheckHeartbeats(ctx); err != nil {
		t.Fatal(err)
	}
	n, _ := e.st.GetNode(ctx, "node-m")
	if n.Status != store.NodeUnhealthy || !strings.Contains(n.StatusReason, "no heartbeat since") || n.StatusBy != store.ByControlPlane {
		t.Fatalf("a silent node: %+v", n)
	}
	if err := e.reg.SetStatus(ctx, "node-m", store.NodeReady); err == nil {
		t.Errorf("an admin readied an unhealthy node")
	}
	// Heartbeats resume: ready (the run ends draining, so look at the
	// first heartbeat's answer through the store's history: the status
	// moved through ready).
	if err := e.join(t, dir, "", "", "node-m"); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.st.GetNode(ctx, "node-m"); n.Status == store.NodeUnhealthy {
		t.Errorf("heartbeats resumed, the node stays unhealthy: %+v", n)
	}
	// An admin's drain: heartbeats and the monitor leave it.
	if err := e.reg.SetStatus(ctx, "node-m", store.NodeDraining); err != nil {
		t.Fatal(err)
	}
	e.clock.add(time.Minute)
	if err := e.reg.CheckHeartbeats(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.st.GetNode(ctx, "node-m"); n.Status != store.NodeDraining || n.StatusBy != store.ByAdmin {
		t.Errorf("an admin-drained node: %+v", n)
	}
	if err := e.reg.SetStatus(ctx, "nope", store.NodeDraining); err == nil {
		t.Errorf("an unknown node was drained")
	}
	if err := e.reg.SetStatus(ctx, "node-m", store.NodeUnhealthy); err == nil {
		t.Errorf("an admin set unhealthy")
	}
}

// TestImpossibleReports: each impossible figure is refused with its name
// and the node keeps its last good report.
func TestImpossibleReports(t *testing.T) {
	good := &nodev1.Capacity{CpuCount: 4, CpuPercent: 10, MemoryTotalBytes: 8 << 30, MemoryUsedBytes: 1 << 30, DiskTotalBytes: 100 << 30, DiskUsedBytes: 1 << 30}
	if _, err := registry.ReportOf(good); err != nil {
		t.Fatalf("a good report: %v", err)
	}
	withService := &nodev1.Capacity{CpuCount: 4, MemoryTotalBytes: 8 << 30, ServiceAddress: "10.0.0.7:3444"}
	if rep, err := registry.ReportOf(withService); err != nil || rep.ServiceAddress != "10.0.0.7:3444" {
		t.Errorf("a report with a service address: %+v, %v", rep, err)
	}
	for _, c := range []struct {
		want string
		f    func(c *nodev1.Capacity)
	}{
		{"cpu_count 0", func(c *nodev1.Capacity) { c.CpuCount = 0 }},
		{"cpu_count -2", func(c *nodev1.Capacity) { c.CpuCount = -2 }},
		{"cpu_count 1000000", func(c *nodev1.Capacity) { c.CpuCount = 1e6 }},
		{"cpu_percent 140", func(c *nodev1.Capacity) { c.CpuPercent = 140 }},
		{"cpu_percent -1", func(c *nodev1.Capacity) { c.CpuPercent = -1 }},
		{"memory_total_bytes 0", func(c *nodev1.Capacity) { c.MemoryTotalBytes = 0 }},
		{"memory_used_bytes", func(c *nodev1.Capacity) { c.MemoryUsedBytes = 9 << 30 }},
		{"memory_total_bytes 18446744073709551615", func(c *nodev1.Capacity) { c.MemoryTotalBytes, c.MemoryUsedBytes = 1<<64-1, 0 }},
		{"disk_used_bytes", func(c *nodev1.Capacity) { c.DiskUsedBytes = 101 << 30 }},
		{"sandboxes -1", func(c *nodev1.Capacity) { c.Sandboxes = -1 }},
		{"max_sandboxes -3", func(c *nodev1.Capacity) { c.MaxSandboxes = -3 }},
		{"template name", func(c *nodev1.Capacity) { c.Templates = []string{""} }},
		{`service_address "node-a"`, func(c *nodev1.Capacity) { c.ServiceAddress = "node-a" }},
		{`service_address "0.0.0.0:3444"`, func(c *nodev1.Capacity) { c.ServiceAddress = "0.0.0.0:3444" }},
		{`service_address "node-a:99999"`, func(c *nodev1.Capacity) { c.ServiceAddress = "node-a:99999" }},
	} {
		bad := &nodev1.Capacity{}
		*bad = nodev1.Capacity{CpuCount: good.CpuCount, CpuPercent: good.CpuPercent, MemoryTotalBytes: good.MemoryTotalBytes,
			MemoryUsedBytes: good.MemoryUsedBytes, DiskTotalBytes: good.DiskTotalBytes, DiskUsedBytes: good.DiskUsedBytes}
		c.f(bad)
		_, err := registry.ReportOf(bad)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "impossible heartbeat") {
			t.Errorf("%s: %v", c.want, err)
		}
	}
	if _, err := registry.ReportOf(nil); err == nil {
		t.Errorf("no capacity accepted")
	}

	// Through the service: refused, and the stored report is the last good one.
	e := newEnv(t)
	dir := t.TempDir()
	if err := e.join(t, dir, "node-r", e.token(t)); err != nil {
		t.Fatal(err)
	}
	before, _ := e.st.GetNode(context.Background(), "node-r")
	c := clientOf(t, dir, e.url)
	_, err := c.Heartbeat(context.Background(), connect.NewRequest(&nodev1.HeartbeatRequest{Capacity: &nodev1.Capacity{CpuCount: 0, MemoryTotalBytes: 1}}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "cpu_count 0") {
		t.Errorf("an impossible heartbeat: %v", err)
	}
	after, _ := e.st.GetNode(context.Background(), "node-r")
	if !after.HeartbeatAt.Equal(before.HeartbeatAt) || after.Report.CPUCount != before.Report.CPUCount {
		t.Errorf("a refused heartbeat changed the node: %+v -> %+v", before, after)
	}
}

// clientOf is a mutual TLS client with the identity a node keeps in dir.
func clientOf(t *testing.T, dir, url string) nodev1connect.NodeServiceClient {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "node", "node.pem"), filepath.Join(dir, "node", "node-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "node", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	tc := &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}, ServerName: "127.0.0.1"}
	return nodev1connect.NewNodeServiceClient(&http.Client{Transport: &http.Transport{TLSClientConfig: tc}}, url)
}
