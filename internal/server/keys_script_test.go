package server

import (
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/audit"
	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/secrets"
)

// TestMakeKeysScript: the keys deploy/helm/make-keys.sh makes for the
// chart's replicas are read as a server reads its keys dir (none is made
// again), the node CA signs, and the script refuses to overwrite keys.
func TestMakeKeysScript(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := filepath.Join(t.TempDir(), "keys")
	script := filepath.Join("..", "..", "deploy", "helm", "make-keys.sh")
	if out, err := exec.Command("sh", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("make-keys.sh: %v\n%s", err, out)
	}
	before := treeFiles(t, dir)
	if _, err := audit.LoadKey(dir); err != nil {
		t.Errorf("audit key: %v", err)
	}
	if _, err := auth.LoadTokens(dir); err != nil {
		t.Errorf("token key: %v", err)
	}
	if _, err := secrets.Load(dir, ""); err != nil {
		t.Errorf("secrets key: %v", err)
	}
	ca, err := nodeca.Open(filepath.Join(dir, "node-ca"))
	if err != nil {
		t.Fatalf("node CA: %v", err)
	}
	if _, err := ca.ControlPlaneClient(); err != nil {
		t.Errorf("the node CA does not sign: %v", err)
	}
	if after := treeFiles(t, dir); !maps.Equal(before, after) {
		t.Errorf("reading the keys changed the keys dir: %d files before, %d after", len(before), len(after))
	}
	if out, err := exec.Command("sh", script, dir).CombinedOutput(); err == nil || !strings.Contains(string(out), "never overwritten") {
		t.Errorf("make-keys.sh over existing keys: %v\n%s", err, out)
	}
}

// treeFiles are the files under dir and their contents.
func treeFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
