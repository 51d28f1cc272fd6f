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

// TestSystemdUnit checks the unit with systemd's own verifier (the binary
// path swapped for one that exists here, since the unit names where it is
// installed) and that every variable its environment file sets or shows is
// one the server reads.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("systemd/soulbox.service")
	if err != nil {
		t.Fatal(err)
	}
	if sa, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze not installed: unit not verified")
	} else {
		dir := t.TempDir()
		u := strings.ReplaceAll(string(unit), "/usr/local/bin/soulbox", "/bin/true")
		if err := os.WriteFile(filepath.Join(dir, "soulbox.service"), []byte(u), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(sa, "verify", "--man=no", filepath.Join(dir, "soulbox.service"))
		cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=warning")
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	}

	config, err := os.ReadFile("../internal/server/config.go")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("systemd/soulbox.env")
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
			t.Errorf("soulbox.env sets %s, which the server does not read", m[1])
		}
	}
	if n == 0 {
		t.Error("soulbox.env sets no variable")
	}
}
