package compat

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/remotedriver"
	"github.com/soulbox/soulbox/internal/store/backend"
)

// waitNodeJoined waits until the joined node name's sandbox service
// answers d, then until the control plane's store (spec and dataDir as
// backend.Open takes them) holds the service address its heartbeat
// advertised, and with objects its object storage: only then does
// placement send creates there.
func waitNodeJoined(t *testing.T, spec, dataDir string, objects bool, name string, d *remotedriver.Driver) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := d.List(c)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s does not serve: %v", name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	st, err := backend.Open(ctx, spec, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for {
		n, err := st.GetNode(ctx, name)
		if err == nil && n.Report.ServiceAddress != "" && (n.Report.ObjectStorage || !objects) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no heartbeat of node %s advertised its service (objects %v): %+v, %v", name, objects, n.Report, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
