// Package compat drives SoulBox with the official E2B JavaScript SDK (npm
// e2b, pinned in package.json), running the node:test files of this
// directory twice:
//
//   - TestE2BSDKThroughServer: as a user switching from E2B would, with
//     E2B_API_URL and E2B_SANDBOX_URL pointing at a SoulBox server and an
//     API key it issued;
//   - TestE2BSDKAgentOnly: in the SDK's debug mode (E2B_DEBUG=true), which
//     talks to one agent at localhost:49983; the test forwards that port
//     into a real sandbox through the driver's Dialer. It pins the agent's
//     protocol apart from the control plane.
package compat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
)

func TestMain(m *testing.M) { ocitest.Main(m) }

func TestE2BSDKAgentOnly(t *testing.T) {
	requireNode(t)
	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: ocitest.Templates(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "compat" + time.Now().Format("150405")
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base", Limits: runtime.Limits{DiskMB: 2048}}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := d.Destroy(context.Background(), id); err != nil {
			t.Errorf("destroy: %v", err)
		}
	}()
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}

	// Secure the agent as the control plane does at create: every SDK call
	// below must carry the token, and signed URLs are made with it.
	const token = "compat-access-token"
	if err := initAgent(ctx, d, id, token); err != nil {
		t.Fatal(err)
	}

	// The SDK's debug mode dials localhost:49983.
	ln, err := net.Listen("tcp", "127.0.0.1:49983")
	if err != nil {
		t.Fatalf("port 49983 is taken on this host: %v", err)
	}
	defer ln.Close()
	go forward(ln, func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, id, 49983) })

	runNode(t, "E2B_DEBUG=true", "E2B_API_KEY=e2b_0000000000000000000000000000000000000000", "SOULBOX_ACCESS_TOKEN="+token)
}

// runNode runs every *.test.mjs file with node's test runner.
func runNode(t *testing.T, env ...string) {
	t.Helper()
	files, _ := filepath.Glob("*.test.mjs")
	args := append([]string{"--test", "--test-reporter=spec", "--test-concurrency=1"}, files...)
	cmd := exec.Command("node", args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the E2B SDK tests failed: %v", err)
	}
}

// requireNode skips without node and fails without the pinned SDK.
func requireNode(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed (scripts/setup.sh installs it)")
	}
	if _, err := os.Stat("node_modules/e2b"); err != nil {
		t.Fatal("the e2b SDK is not installed: run npm ci in tests/compat (scripts/setup.sh does)")
	}
}

// initAgent sets the agent's access token through POST /init, retrying
// while the agent starts.
func initAgent(ctx context.Context, d *oci.Driver, id, token string) error {
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, id, 49983) },
	}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Post("http://agent/init", "application/json", strings.NewReader(`{"accessToken":"`+token+`"}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
			err = fmt.Errorf("/init answered %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// forward accepts connections on ln and pipes each to a new connection
// from dial, until ln is closed.
func forward(ln net.Listener, dial func(context.Context) (net.Conn, error)) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		go func() {
			defer c.Close()
			up, err := dial(context.Background())
			if err != nil {
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(up, c); up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			go func() { _, _ = io.Copy(c, up); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}
