package oci

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/envd"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// dialAgent dials the sandbox's agent until it answers or 20 s pass.
func dialAgent(t *testing.T, d *Driver, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := d.DialContext(context.Background(), id, envd.Port)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial the agent of %s: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kept reports whether the driver keeps a namespace for id's dials.
func kept(d *Driver, id string) bool {
	d.dials.mu.Lock()
	defer d.dials.mu.Unlock()
	return d.dials.m[id] != nil
}

// A dial uses the namespace kept from the last only while the sandbox's
// process that it came from lives: after the sandbox was stopped a dial
// finds it not running, and after it was made again (a fresh process in
// a fresh namespace, as after a restore) it reaches the new agent, not
// the dead namespace. A destroy lets go of the namespace.
func TestDialCacheFollowsTheSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	d := newTestDriver(t, nil)
	ctx := context.Background()
	const id = "dialcache1"
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Destroy(context.Background(), id) })
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	dialAgent(t, d, id)
	if !kept(d, id) {
		t.Fatal("a dial kept nothing for the next one")
	}

	// Dials at once share what is kept and close nothing under each other.
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			conn, err := d.DialContext(ctx, id, envd.Port)
			if err != nil {
				t.Errorf("concurrent dial: %v", err)
				return
			}
			conn.Close()
		})
	}
	wg.Wait()

	if err := d.Stop(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DialContext(ctx, id, envd.Port); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("dial of a stopped sandbox: %v, want not running", err)
	}
	if kept(d, id) {
		t.Error("the namespace of a stopped sandbox is still kept")
	}

	if err := d.Recreate(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	dialAgent(t, d, id)

	e := d.dials.get(id)
	if e == nil {
		t.Fatal("nothing kept for the recreated sandbox")
	}
	d.dials.release(e)
	if err := d.Destroy(ctx, id); err != nil {
		t.Fatal(err)
	}
	d.dials.mu.Lock()
	refs := e.refs
	d.dials.mu.Unlock()
	if kept(d, id) || refs != 0 {
		t.Errorf("after destroy: kept %v, %d holders of the namespace", kept(d, id), refs)
	}
	if _, err := d.DialContext(ctx, id, envd.Port); err == nil {
		t.Error("dial of a destroyed sandbox succeeded")
	}
}
