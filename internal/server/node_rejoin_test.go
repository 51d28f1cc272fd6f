package server_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server"
)

// TestNodeRestartWithoutTokenFile: a joined node started again with the
// same --join-token-file, whose token is spent and gone (a Kubernetes
// Secret's entry deleted), starts on its identity and heartbeats.
func TestNodeRestartWithoutTokenFile(t *testing.T) {
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, _ := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 2 * time.Second
	})
	var tok nodeTokenJSON
	c.want(201, "POST", "/admin/node-tokens", nil, &tok)
	tokFile := filepath.Join(t.TempDir(), "node-r")
	if err := os.WriteFile(tokFile, []byte(tok.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--control-plane", "https://" + nodeAddr, "--join-token-file", tokFile, "--data-dir", t.TempDir(), "--name", "node-r"}
	first := startNode(t, bin, args...)
	waitNodeStatus(t, c, "node-r", "ready", 30*time.Second)
	_ = first.cmd.Process.Signal(syscall.SIGKILL)
	_ = first.wait(t)
	waitNodeStatus(t, c, "node-r", "unhealthy", 30*time.Second)
	if err := os.Remove(tokFile); err != nil {
		t.Fatal(err)
	}
	startNode(t, bin, args...)
	waitNodeStatus(t, c, "node-r", "ready", 30*time.Second)
}
