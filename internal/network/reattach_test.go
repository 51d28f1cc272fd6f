package network_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/network/fakenet"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/testutil"
)

// newNetns makes a network namespace for the test, as a restore's new
// one: loopback only.
func newNetns(t *testing.T, name string) string {
	t.Helper()
	if err := exec(t, "ip", "netns", "add", name); err != nil {
		t.Fatalf("ip netns add %s: %v", name, err)
	}
	t.Cleanup(func() { _ = exec(t, "ip", "netns", "del", name) })
	return "/run/netns/" + name
}

// TestReattach: a sandbox's network moves to the new namespace a restore
// made, with its address and policy; one whose link was lost (a crash
// half-way through) gets a network that allows nothing until its policy
// is set again.
func TestReattach(t *testing.T) {
	testutil.RequiresRoot(t)
	w := fakenet.New(t, "fwnt2", worldPrefix, []string{"outside.test", "other.test"})
	m := newManager(t, w)
	ctx := context.Background()
	out, other := w.Servers[0], w.Servers[1]

	a, err := m.Setup(ctx, "re-a", "", runtime.NetworkPolicy{DenyOut: prefixes(other.String() + "/32")})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Teardown(ctx, "re-a")
	b, err := m.Reattach(ctx, "re-a", newNetns(t, "sbre-a"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Address != a.Address || b.Gateway != a.Gateway {
		t.Errorf("reattached %+v, had %+v: the address changed", b, a)
	}
	if body, err := get(t, b, out.String()); err != nil || !strings.HasPrefix(body, fakenet.Hello(out)) {
		t.Errorf("internet from the new namespace: %q %v", body, err)
	}
	if body, err := get(t, b, other.String()); err == nil {
		t.Errorf("the policy was lost: denied %s answered %q", other, body)
	}

	// The link is lost: a new network, closed until the policy is set.
	if _, err := m.Setup(ctx, "re-b", "", runtime.NetworkPolicy{}); err != nil {
		t.Fatal(err)
	}
	defer m.Teardown(ctx, "re-b")
	links, _ := netlink.LinkList()
	for _, l := range links {
		if l.Attrs().Alias == "soulbox:re-b" {
			_ = netlink.LinkDel(l)
		}
	}
	m2, err := network.New(ctx, network.Config{Pool: testPool, Uplink: w.Uplink, Upstream: w.DNS, Tag: "nt", NetnsDir: strings.TrimSuffix(a.NetnsPath, "/re-a")})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	c, err := m2.Reattach(ctx, "re-b", newNetns(t, "sbre-b"))
	if err != nil {
		t.Fatalf("reattach without a link: %v", err)
	}
	defer m2.Teardown(ctx, "re-b")
	if body, err := get(t, c, out.String()); err == nil {
		t.Errorf("a network made anew is open before its policy is set: %q", body)
	}
	if err := m2.SetPolicy(ctx, "re-b", runtime.NetworkPolicy{}); err != nil {
		t.Fatal(err)
	}
	if body, err := get(t, c, out.String()); err != nil || !strings.HasPrefix(body, fakenet.Hello(out)) {
		t.Errorf("internet once the policy is set: %q %v", body, err)
	}
}
