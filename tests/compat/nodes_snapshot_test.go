package compat

import (
	"os"
	"os/exec"
	"testing"

	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
)

// TestE2BSDKSnapshotsOnJoinedNode runs the official SDK's snapshot test
// (snapshots/snapshot.test.mjs: createSnapshot of a running sandbox,
// sandboxes created from its id and name with its processes and files,
// listSnapshots, deleteSnapshot) through a server whose only ready node
// is a `soulbox node` child sharing its versitygw bucket: the snapshot
// is the node's, kept in object storage, and restored there.
func TestE2BSDKSnapshotsOnJoinedNode(t *testing.T) {
	requireNode(t)
	c := startBucketCluster(t)
	_, d := c.node("node-s1", "10.246.122.0/24", ocitest.Root(t), freeLocalAddr(t), true)
	cmd := exec.Command("node", "--test", "--test-reporter=spec", "--test-name-pattern=createSnapshot", "snapshots/snapshot.test.mjs")
	cmd.Env = append(os.Environ(), c.env()...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the E2B SDK snapshot test on a joined node failed: %v", err)
	}
	if list, err := d.List(c.ctx); err != nil || len(list) != 0 {
		t.Errorf("node-s1 holds %+v (%v) after the test", list, err)
	}
	if blobs, _ := os.ReadDir(c.s3.BlobPath("soulbox", "sha256:")); len(blobs) != 0 {
		t.Errorf("%d blobs left in the bucket after the snapshots were deleted", len(blobs))
	}
}
