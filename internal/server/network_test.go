package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/network/fakenet"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// networkServer runs a server whose sandboxes reach a fake internet: its
// uplink and upstream resolver are the world's.
func networkServer(t *testing.T, link string, pool int) (apiClient, server.Config, *fakenet.World) {
	t.Helper()
	w := fakenet.New(t, link, netip.MustParsePrefix("203.0.113.0/25"), []string{"outside.test", "other.test"})
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NetworkUplink, cfg.NetworkDNS, cfg.NetworkPool = w.Uplink, w.DNS, "10.252.0.0/24"
		cfg.PoolMin, cfg.PoolMax, cfg.PoolPrewarm = pool, pool, "none"
	})
	return c, cfg, w
}

// fetch runs curl in the sandbox with url (and any options before it);
// the body, or "" when it failed.
func fetch(t *testing.T, c apiClient, sb sandboxJSON, url string) string {
	t.Helper()
	cl := &client.Client{BaseURL: c.base, APIKey: c.key}
	got, err := cl.Get(context.Background(), sb.SandboxID)
	if err != nil {
		t.Fatal(err)
	}
	got.EnvdAccessToken = *sb.EnvdAccessToken
	var out bytes.Buffer
	code, err := cl.Exec(context.Background(), got, append([]string{"curl", "-sS", "-m", "2"}, strings.Fields(url)...), client.ExecOptions{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Logf("curl %s in %s: exit %d: %s", url, sb.SandboxID, code, out.String())
		return ""
	}
	return out.String()
}

func create(t *testing.T, c apiClient, body map[string]any) sandboxJSON {
	t.Helper()
	body["templateID"] = "base"
	var sb sandboxJSON
	c.want(201, "POST", "/sandboxes", body, &sb)
	return sb
}

func TestSandboxNetworkThroughServer(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, cfg, w := networkServer(t, "fwsv0", 1)
	waitPool(t, c, 1)
	out, other := w.Servers[0], w.Servers[1]
	reaches := func(sb sandboxJSON, a netip.Addr) bool {
		return strings.HasPrefix(fetch(t, c, sb, "http://"+a.String()+"/"), fakenet.Hello(a))
	}

	t.Run("internet by default, by IP and by name", func(t *testing.T) {
		sb := create(t, c, map[string]any{}) // from the warm pool
		if !reaches(sb, out) {
			t.Error("the outside world is unreachable by IP")
		}
		if body := fetch(t, c, sb, "http://outside.test/"); !strings.HasPrefix(body, fakenet.Hello(out)) {
			t.Errorf("by name: %q", body)
		}
	})
	for _, pooled := range []bool{true, false} {
		name := map[bool]string{true: "pooled", false: "cold"}[pooled]
		t.Run("allow_internet_access false, "+name, func(t *testing.T) {
			if pooled {
				waitPool(t, c, 1)
			}
			body := map[string]any{"allow_internet_access": false}
			var sb sandboxJSON
			if pooled {
				sb = create(t, c, body)
			} else {
				sb = createNoPool(t, c, body)
			}
			if reaches(sb, out) {
				t.Error("reached the outside world")
			}
			if fetch(t, c, sb, "http://outside.test/") != "" {
				t.Error("reached the outside world by name")
			}
		})
	}
	t.Run("allowOut beats denyOut", func(t *testing.T) {
		sb := create(t, c, map[string]any{"network": map[string]any{
			"denyOut": []string{"0.0.0.0/0"}, "allowOut": []string{out.String()},
		}})
		if !reaches(sb, out) || reaches(sb, other) {
			t.Errorf("reaches allowed %v, denied %v", reaches(sb, out), reaches(sb, other))
		}
	})
	t.Run("denyOut a CIDR", func(t *testing.T) {
		sb := create(t, c, map[string]any{"network": map[string]any{"denyOut": []string{other.String() + "/32"}}})
		if !reaches(sb, out) || reaches(sb, other) {
			t.Errorf("reaches %s %v, denied %s %v", out, reaches(sb, out), other, reaches(sb, other))
		}
	})
	t.Run("bad input changes nothing", func(t *testing.T) {
		many := make([]string, 1001)
		for i := range many {
			many[i] = "10.0.0.1"
		}
		for _, tc := range []struct {
			body map[string]any
			want string
		}{
			{map[string]any{"network": map[string]any{"allowOut": []string{"10.0.0.0/33"}}}, "10.0.0.0/33"},
			{map[string]any{"network": map[string]any{"denyOut": []string{"1.2.3"}}}, "1.2.3"},
			{map[string]any{"network": map[string]any{"denyOut": []string{"example.com"}}}, "not domains"},
			{map[string]any{"network": map[string]any{"allowOut": []string{"exa_mple.com"}}}, `"exa_mple.com"`},
			{map[string]any{"network": map[string]any{"allowOut": []string{"*.*.example.com"}}}, `"*.*.example.com"`},
			{map[string]any{"network": map[string]any{"allowOut": []string{"-bad.example.com"}}}, `"-bad.example.com"`},
			{map[string]any{"network": map[string]any{"allowOut": []string{strings.Repeat("a", 64) + ".example.com"}}}, strings.Repeat("a", 64)},
			{map[string]any{"network": map[string]any{"allowOut": many}}, "at most 1000"},
			{map[string]any{"network": map[string]any{"egressMbps": 0}}, "network.egressMbps 0"},
			{map[string]any{"network": map[string]any{"ingressMbps": 100001}}, "network.ingressMbps 100001"},
			{map[string]any{"network": map[string]any{"maxConnections": -1}}, "network.maxConnections -1"},
			{map[string]any{"network": map[string]any{"maxConnections": 1e30}}, "maxConnections"},
			{map[string]any{"network": map[string]any{"allowOut": []string{"2001:db8::/32"}}}, "IPv6"},
			{map[string]any{"network": map[string]any{"denyOut": many}}, "at most 1000"},
			{map[string]any{"network": map[string]any{"maskRequestHost": "bad host/x"}}, "maskRequestHost"},
		} {
			tc.body["templateID"] = "base"
			code, b, _ := c.do("POST", "/sandboxes", tc.body)
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			_ = json.Unmarshal(b, &e)
			if code != 400 || e.Code != 400 || !strings.Contains(e.Message, tc.want) {
				t.Errorf("%v: %d %s, want 400 naming %q", tc.body["network"], code, b, tc.want)
			}
		}
	})
	t.Run("allowOut domains with denyOut all", func(t *testing.T) {
		sb := create(t, c, map[string]any{"network": map[string]any{
			"denyOut": []string{"0.0.0.0/0"}, "allowOut": []string{"outside.test"},
		}})
		if body := fetch(t, c, sb, "http://outside.test/"); !strings.HasPrefix(body, fakenet.Hello(out)) {
			t.Errorf("allowed name by HTTP: %q", body)
		}
		// -k: the sandbox does not trust the world's CA; the server name
		// is sent all the same.
		if body := fetch(t, c, sb, "-k https://outside.test/"); !strings.HasPrefix(body, fakenet.Hello(out)) {
			t.Errorf("allowed name by HTTPS: %q", body)
		}
		for _, u := range []string{"http://other.test/", "-k https://other.test/", "http://" + other.String() + "/"} {
			if body := fetch(t, c, sb, u); body != "" {
				t.Errorf("%s: %q", u, body)
			}
		}
		path := "/sandboxes/" + sb.SandboxID + "/network"
		c.want(204, "PUT", path, map[string]any{"denyOut": []string{"0.0.0.0/0"}, "allowOut": []string{"*.test"}}, nil)
		if body := fetch(t, c, sb, "http://other.test/"); !strings.HasPrefix(body, fakenet.Hello(other)) {
			t.Errorf("after PUT *.test: %q", body)
		}
	})
	t.Run("limits are recorded and kept by PUT", func(t *testing.T) {
		sb := create(t, c, map[string]any{"network": map[string]any{"maxConnections": 7, "egressMbps": 50}})
		var d struct {
			Network struct {
				MaxConnections int `json:"maxConnections"`
				EgressMbps     int `json:"egressMbps"`
			} `json:"network"`
		}
		c.want(204, "PUT", "/sandboxes/"+sb.SandboxID+"/network", map[string]any{"denyOut": []string{"10.0.0.0/8"}}, nil)
		c.want(200, "GET", "/sandboxes/"+sb.SandboxID, nil, &d)
		if d.Network.MaxConnections != 7 || d.Network.EgressMbps != 50 {
			t.Errorf("limits after PUT: %+v", d.Network)
		}
	})
	t.Run("GET shows the network", func(t *testing.T) {
		sb := create(t, c, map[string]any{"allow_internet_access": false, "network": map[string]any{"allowOut": []string{out.String()}}})
		var d struct {
			AllowInternetAccess bool `json:"allowInternetAccess"`
			Network             struct {
				AllowOut           []string `json:"allowOut"`
				AllowPublicTraffic bool     `json:"allowPublicTraffic"`
			} `json:"network"`
		}
		c.want(200, "GET", "/sandboxes/"+sb.SandboxID, nil, &d)
		if d.AllowInternetAccess || len(d.Network.AllowOut) != 1 || d.Network.AllowOut[0] != out.String() || !d.Network.AllowPublicTraffic {
			t.Errorf("detail %+v", d)
		}
	})
	t.Run("PUT network replaces the rules", func(t *testing.T) {
		sb := create(t, c, map[string]any{})
		path := "/sandboxes/" + sb.SandboxID + "/network"
		c.want(204, "PUT", path, map[string]any{"denyOut": []string{"0.0.0.0/0"}}, nil)
		if reaches(sb, out) {
			t.Error("reached the outside after denyOut 0.0.0.0/0")
		}
		c.want(204, "PUT", path, map[string]any{"denyOut": []string{"0.0.0.0/0"}, "allowOut": []string{out.String()}}, nil)
		if !reaches(sb, out) || reaches(sb, other) {
			t.Error("allowOut after an update")
		}
		for _, bad := range []map[string]any{
			{"allowOut": []string{"300.1.1.1"}},
			{"denyOut": []string{"example.com"}},
			{"allowOut": []string{"exa mple.com"}},
			{"rules": map[string]any{}},
			{"maxConnections": 5}, // limits are set at create only
		} {
			if code, b, _ := c.do("PUT", path, bad); code != 400 {
				t.Errorf("PUT %v: %d %s", bad, code, b)
			}
		}
		if !reaches(sb, out) || reaches(sb, other) {
			t.Error("a refused update changed the rules")
		}
		c.want(204, "PUT", path, map[string]any{}, nil) // an omitted field clears it
		if !reaches(sb, other) {
			t.Error("an empty update left the rules")
		}
		var d struct {
			AllowInternetAccess bool `json:"allowInternetAccess"`
		}
		c.want(200, "GET", "/sandboxes/"+sb.SandboxID, nil, &d)
		if !d.AllowInternetAccess {
			t.Error("allowInternetAccess false after an empty update")
		}
		c.want(404, "PUT", "/sandboxes/nosuchsandbox/network", map[string]any{}, nil)
	})
	t.Run("kill leaves no network object", func(t *testing.T) {
		sb := create(t, c, map[string]any{"network": map[string]any{
			"denyOut": []string{"10.0.0.0/8"}, "allowOut": []string{"*.test"}, "ingressMbps": 100, "maxConnections": 50}})
		if left := networkObjects(t, cfg, sb.SandboxID); len(left) != 3 {
			t.Fatalf("a live sandbox's objects %v: the check sees too little", left)
		}
		c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
		if left := networkObjects(t, cfg, sb.SandboxID); len(left) > 0 {
			t.Fatalf("after kill: %v", left)
		}
	})
}

func createNoPool(t *testing.T, c apiClient, body map[string]any) sandboxJSON {
	t.Helper()
	body["templateID"] = "base"
	b, _ := json.Marshal(body)
	code, resp := postWithHeader(t, c, "/sandboxes", b, "Soulbox-Pool", "off")
	if code != 201 {
		t.Fatalf("create: %d %s", code, resp)
	}
	var sb sandboxJSON
	if err := json.Unmarshal([]byte(resp), &sb); err != nil {
		t.Fatal(err)
	}
	return sb
}

// networkObjects lists the host-side link, its bandwidth cap and the
// nftables table of a sandbox of the server with cfg.
func networkObjects(t *testing.T, cfg server.Config, id string) []string {
	t.Helper()
	var out []string
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Attrs().Alias == "soulbox:"+id {
			out = append(out, "link "+l.Attrs().Name)
			qs, _ := netlink.QdiscList(l)
			for _, q := range qs {
				if q.Type() == "tbf" {
					out = append(out, "tbf qdisc on "+l.Attrs().Name)
				}
			}
		}
	}
	nc, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := nc.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.Name == "sb-"+network.TagFor(cfg.DataDir)+"-"+id {
			out = append(out, "table "+tb.Name)
		}
	}
	return out
}

// TestNetworkRestoredAfterRestart: a policy recorded in the store but not
// applied (a crash between the two) is applied when the server starts,
// domain rules through the new server's proxy.
func TestNetworkRestoredAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	w := fakenet.New(t, "fwsv1", netip.MustParsePrefix("203.0.113.0/25"), []string{"outside.test"})
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.NetworkUplink, cfg.NetworkDNS, cfg.NetworkPool = w.Uplink, w.DNS, "10.252.1.0/24"
	addr, stop := serveInProcess(t, cfg)
	c := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	sb := create(t, c, map[string]any{"timeout": 600})
	out := w.Servers[0]
	if !strings.HasPrefix(fetch(t, c, sb, "http://"+out.String()+"/"), fakenet.Hello(out)) {
		t.Fatal("no internet before the restart")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	err = st.SetNetwork(context.Background(), sb.SandboxID, store.NetworkConfig{AllowInternetAccess: false, AllowOut: []string{"outside.test"}, AllowPublicTraffic: true})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	addr, stop = serveInProcess(t, cfg)
	c.base = "http://" + addr
	if body := fetch(t, c, sb, "http://"+out.String()+"/"); body != "" {
		t.Errorf("the recorded policy was not applied at start: %q", body)
	}
	// The domain rule goes through the new server's egress proxy.
	if body := fetch(t, c, sb, "http://outside.test/"); !strings.HasPrefix(body, fakenet.Hello(out)) {
		t.Errorf("the recorded domain rule after a restart: %q", body)
	}
	c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
	if err := stop(); err != nil {
		t.Error(err)
	}
}

func TestConfigNetworkFields(t *testing.T) {
	for _, mod := range []func(*server.Config){
		func(c *server.Config) { c.Network = "maybe" },
		func(c *server.Config) { c.NetworkPool = "10.0.0.0/33" },
		func(c *server.Config) { c.NetworkPool = "10.0.0.1/24" },
		func(c *server.Config) { c.NetworkDNS = "resolver.example" },
		func(c *server.Config) { c.NetworkEgressMbps = -1 },
		func(c *server.Config) { c.NetworkIngressMbps = 100001 },
		func(c *server.Config) { c.NetworkMaxConnections = -5 },
	} {
		c := server.Defaults()
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
	c := server.Defaults().FromEnv(func(k string) string {
		return map[string]string{"SOULBOX_PUBLIC_TRAFFIC": "false", "SOULBOX_NETWORK_POOL": "10.9.0.0/16", "SOULBOX_NETWORK": "off",
			"SOULBOX_NETWORK_EGRESS_MBPS": "100", "SOULBOX_NETWORK_INGRESS_MBPS": "200", "SOULBOX_NETWORK_MAX_CONNECTIONS": "300"}[k]
	})
	if c.PublicTraffic || c.NetworkPool != "10.9.0.0/16" || c.Network != "off" ||
		c.NetworkEgressMbps != 100 || c.NetworkIngressMbps != 200 || c.NetworkMaxConnections != 300 {
		t.Errorf("FromEnv: %+v", c)
	}
	if !server.Defaults().PublicTraffic || server.Defaults().Network != "on" {
		t.Error("defaults: public traffic and networking are on, as in E2B")
	}
}

// A start that fails half-way (here at the network, after the store is
// open) reports the error and releases what it opened; it used to panic.
func TestNewFailsCleanlyOnAnOverlappingPool(t *testing.T) {
	if testing.Short() {
		t.Skip("needs root")
	}
	cfg := testConfig(t)
	cfg.NetworkUplink, cfg.NetworkDNS = "lo", "127.0.0.1"
	cfg.NetworkPool = "127.0.0.0/16" // the host's loopback routes overlap it
	srv, err := server.New(context.Background(), cfg, discardLogger())
	if err == nil || srv != nil || !strings.Contains(err.Error(), "overlaps the host route") {
		t.Fatalf("New = %v, %v; want the overlap named", srv, err)
	}
}

// The server's network limits are every sandbox's, pooled ones included,
// and the most a create may ask for.
func TestNetworkLimitDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	w := fakenet.New(t, "fwsv2", netip.MustParsePrefix("203.0.113.0/25"), []string{"outside.test"})
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NetworkUplink, cfg.NetworkDNS, cfg.NetworkPool = w.Uplink, w.DNS, "10.252.2.0/24"
		cfg.PoolMin, cfg.PoolMax, cfg.PoolPrewarm = 1, 1, "none"
		cfg.NetworkIngressMbps, cfg.NetworkMaxConnections = 100, 20
	})
	waitPool(t, c, 1)
	limits := func(sb sandboxJSON) (in, conns int) {
		var d struct {
			Network struct {
				IngressMbps    int `json:"ingressMbps"`
				MaxConnections int `json:"maxConnections"`
			} `json:"network"`
		}
		c.want(200, "GET", "/sandboxes/"+sb.SandboxID, nil, &d)
		return d.Network.IngressMbps, d.Network.MaxConnections
	}
	sb := create(t, c, map[string]any{}) // from the pool
	if in, conns := limits(sb); in != 100 || conns != 20 {
		t.Errorf("a pooled sandbox's limits: %d Mbit/s, %d connections; want the server's 100, 20", in, conns)
	}
	if left := networkObjects(t, cfg, sb.SandboxID); !strings.Contains(strings.Join(left, ","), "tbf") {
		t.Errorf("a pooled sandbox has no bandwidth cap: %v", left)
	}
	sb = create(t, c, map[string]any{"network": map[string]any{"ingressMbps": 50, "maxConnections": 5}})
	if in, conns := limits(sb); in != 50 || conns != 5 {
		t.Errorf("limits asked for: %d, %d; want 50, 5", in, conns)
	}
	for field, v := range map[string]int{"ingressMbps": 101, "maxConnections": 21} {
		code, b, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "network": map[string]any{field: v}})
		if code != 400 || !strings.Contains(string(b), "network."+field) || !strings.Contains(string(b), "this server's limit") {
			t.Errorf("%s %d over the server's limit: %d %s", field, v, code, b)
		}
	}
}
