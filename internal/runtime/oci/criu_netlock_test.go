package oci

import (
	"context"
	"path/filepath"
	"testing"
)

// setNetworkLock makes checkpoints with CRIU binary criu use lock.
func setNetworkLock(criu, lock string) {
	criuNetLock.mu.Lock()
	defer criuNetLock.mu.Unlock()
	if criuNetLock.lock == nil {
		criuNetLock.lock = map[string]string{}
	}
	criuNetLock.lock[criu] = lock
}

// A checkpoint records how CRIU locked the sandbox's network, and either
// kind restores with a working network whichever way the driver locks
// now: a checkpoint taken with iptables (as every one before nftables
// locks, kept across an upgrade) restores on a driver that locks with
// nftables, and the other way round. A lock left in place would drop
// every packet, the sandbox's loopback included, so the counter would
// not answer.
func TestCheckpointNetworkLockRecorded(t *testing.T) {
	d := newTestDriver(t, nil)
	ctx := context.Background()
	id := "ckptlock1"
	startCheckpointable(t, d, id) // the counter answered 1
	criu, _ := criuBinary()
	if criuNetworkLock(criu) != criuNFTablesLock {
		t.Skip("this host's CRIU cannot lock with nftables")
	}
	t.Cleanup(func() { setNetworkLock(criu, criuNFTablesLock) })
	for i, c := range []struct{ dump, restore string }{{"", criuNFTablesLock}, {criuNFTablesLock, ""}} {
		setNetworkLock(criu, c.dump)
		dir := filepath.Join(t.TempDir(), "c")
		if err := d.Checkpoint(ctx, id, dir); err != nil {
			t.Fatalf("checkpoint locked by %q: %v", c.dump, err)
		}
		meta, err := readCheckpoint(dir)
		if err != nil {
			t.Fatal(err)
		}
		if meta.NetworkLock != c.dump {
			t.Errorf("checkpoint records the lock %q, want %q", meta.NetworkLock, c.dump)
		}
		setNetworkLock(criu, c.restore)
		if err := d.Restore(ctx, id, dir); err != nil {
			t.Fatalf("restore of a checkpoint locked by %q: %v", c.dump, err)
		}
		if got, want := counterGet(t, d, id, 0), []string{"2", "3"}[i]; got != want {
			t.Errorf("counter after restoring a checkpoint locked by %q = %q, want %s", c.dump, got, want)
		}
	}
}
