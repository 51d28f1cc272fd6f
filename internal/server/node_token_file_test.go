package server_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server"
)

// TestNodeJoinTokenFile: `soulbox node` takes its join token from a file
// or stdin, never needing it on the command line; a token given twice,
// an empty file or a missing one is refused, saying what to fix, and
// nothing joins.
func TestNodeJoinTokenFile(t *testing.T) {
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, _ := runServer(t, func(cfg *server.Config) { cfg.NodeListen = nodeAddr })
	cp := "https://" + nodeAddr
	newToken := func() string {
		var tok nodeTokenJSON
		c.want(201, "POST", "/admin/node-tokens", nil, &tok)
		return tok.Token
	}
	dir := t.TempDir()
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"node", "--control-plane", cp}, args...)...)
		cmd.Env = append(os.Environ(), "SOULBOX_JOIN_TOKEN=")
		cmd.Stdin = strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Start()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err = <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			err = <-done
		}
		return out.String(), err
	}

	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(newToken()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--join-token-file", tokFile, "--join-token", "sbn1.x"}, "not both"},
		{[]string{"--join-token-file", empty}, "holds no join token"},
		{[]string{"--join-token-file", filepath.Join(dir, "missing")}, "--join-token-file"},
	} {
		out, err := run("", append(bad.args, "--data-dir", t.TempDir(), "--name", "bad-node")...)
		if err == nil || !strings.Contains(out, bad.want) {
			t.Errorf("soulbox node %v: %v %s; want a refusal saying %q", bad.args, err, out, bad.want)
		}
	}
	if s := nodeStatus(c, "bad-node"); s != "" {
		t.Errorf("a refused start joined: %s", s)
	}

	// From a file, and from stdin: each joins (and is left running until
	// the test ends; it is listed ready).
	for _, j := range []struct{ name, stdin, file string }{
		{"from-file", "", tokFile},
		{"from-stdin", newToken() + "\n", "-"},
	} {
		cmd := exec.Command(bin, "node", "--control-plane", cp, "--join-token-file", j.file, "--data-dir", t.TempDir(), "--name", j.name)
		cmd.Env = append(os.Environ(), "SOULBOX_JOIN_TOKEN=")
		cmd.Stdin = strings.NewReader(j.stdin)
		var out bytes.Buffer
		cmd.Stderr = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		waitNodeStatus(t, c, j.name, "ready", 30*time.Second)
	}
}
