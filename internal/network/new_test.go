package network

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/nftables"

	"github.com/soulbox/soulbox/internal/mountinfo"
	"github.com/soulbox/soulbox/internal/network/fakenet"
	"github.com/soulbox/soulbox/internal/testutil"
)

// A New that fails late leaves no mount of its namespace directory.
func TestFailedNewLeavesNoMount(t *testing.T) {
	testutil.RequiresRoot(t)
	w := fakenet.New(t, "fwnt7", netip.MustParsePrefix("198.51.100.128/26"), []string{"x.test"})
	dir := t.TempDir() + "/netns"
	orig := openNftables
	openNftables = func() (*nftables.Conn, error) { return nil, errors.New("injected nftables failure") }
	defer func() { openNftables = orig }()
	if m, err := New(context.Background(), Config{Pool: netip.MustParsePrefix("10.251.0.0/24"), Uplink: w.Uplink, Upstream: w.DNS, Tag: "nt", NetnsDir: dir}); err == nil {
		m.Close()
		t.Fatal("New succeeded with nftables failing")
	}
	if mounts, err := mountinfo.Under(dir); err != nil || len(mounts) > 0 {
		t.Errorf("mounts left after a failed New: %v %v", mounts, err)
	}
}
