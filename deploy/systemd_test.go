package deploy_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSystemdUnit checks the server's unit with systemd's own verifier and
// that every variable its environment file sets or shows is one the
// server reads.
func TestSystemdUnit(t *testing.T) {
	verifyUnit(t, "soulbox.service")
	checkEnvFile(t, "systemd/soulbox.env", "../internal/server/config.go", "the server")
}

// TestSystemdNodeUnit: the node's unit verifies, its environment file
// sets only variables `soulbox node` reads, and every flag it passes is
// one the node has.
func TestSystemdNodeUnit(t *testing.T) {
	unit := verifyUnit(t, "soulbox-node.service")
	checkEnvFile(t, "systemd/soulbox-node.env", "../internal/cli/node.go", "soulbox node")
	src, err := os.ReadFile("../internal/cli/node.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range regexp.MustCompile(`(?m)^ExecStart=.* node (.*)$`).FindStringSubmatch(unit)[1:] {
		for _, a := range strings.Fields(f) {
			if name, ok := strings.CutPrefix(a, "--"); ok && !strings.Contains(string(src), `"`+name+`"`) {
				t.Errorf("the unit passes %s, which soulbox node does not have", a)
			}
		}
	}
}

// verifyUnit checks deploy/systemd/<name> with systemd's own verifier
// (the binary path swapped for one that exists here) and returns it.
func verifyUnit(t *testing.T, name string) string {
	t.Helper()
	unit, err := os.ReadFile(filepath.Join("systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	if sa, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze not installed: unit not verified")
	} else {
		dir := t.TempDir()
		u := strings.ReplaceAll(string(unit), "/usr/local/bin/soulbox", "/bin/true")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(u), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(sa, "verify", "--man=no", filepath.Join(dir, name))
		cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=warning")
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
		}
	}
	return string(unit)
}

// checkEnvFile: every variable envFile sets or shows is one the source
// file (who) reads.
func checkEnvFile(t *testing.T, envFile, source, who string) {
	t.Helper()
	config, err := os.ReadFile(source)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(envFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := regexp.MustCompile(`^#?(SOULBOX_[A-Z_]+)=`)
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		m := v.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n++
		if !strings.Contains(string(config), `"`+m[1]+`"`) {
			t.Errorf("%s sets %s, which %s does not read", envFile, m[1], who)
		}
	}
	if n == 0 {
		t.Errorf("%s sets no variable", envFile)
	}
}
