package compat

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestE2BSDKMovePaused drives the official SDK through a server with two
// `soulbox node` children sharing a versitygw bucket: a sandbox made on
// the first, running a counter, is paused with its memory through the
// SDK; the first node is killed (SIGKILL); Sandbox.connect resumes it on
// the second, its counter going on, its file kept, commands running.
func TestE2BSDKMovePaused(t *testing.T) {
	requireNode(t)
	c := startBucketCluster(t)
	ctx, cfg, env := c.ctx, c.cfg, c.env()
	api, startNode := c.api, c.node

	dirA, listenA := ocitest.Root(t), freeLocalAddr(t)
	a, dA := startNode("node-m1", "10.246.40.0/24", dirA, listenA, true)
	ids := sdkRun(t, env, "create", "1")
	id := ids[0]
	defer api("DELETE", "/sandboxes/"+id, nil, nil) // before the server stops
	sdkRun(t, env, "pauseonly", id)
	// The node uploads the paused state in the background.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.CheckpointObject(ctx, id)
		st.Close()
		if err == nil {
			break
		}
		if !errdefs.IsNotFound(err) || time.Now().After(deadline) {
			t.Fatalf("the pause was not uploaded: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = a.Process.Kill()
	_, b := startNode("node-m2", "10.246.41.0/24", ocitest.Root(t), freeLocalAddr(t), true)
	sdkRun(t, env, "moved", id)
	if info, err := b.Info(ctx, id); err != nil || info.Status != "running" {
		t.Errorf("node-m2 holds the moved sandbox as %+v, %v; want running", info, err)
	}
	sdkRun(t, env, "kill", id)
	if list, err := b.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("node-m2 holds %+v (%v) after the kill", list, err)
	}
	// node-m1, started again, removes what it kept.
	startNode("node-m1", "10.246.40.0/24", dirA, listenA, false)
	deadline = time.Now().Add(30 * time.Second)
	for {
		list, err := dA.List(ctx)
		if err == nil && len(list) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, i := range list {
				_ = dA.Destroy(ctx, i.ID)
			}
			t.Fatalf("node-m1 still holds %+v (%v) once back", list, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
