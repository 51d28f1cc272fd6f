package api

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoAgentServerImport keeps the control plane's API apart from the
// in-sandbox agent's server: what both must agree on (ports, the envd
// version) lives in internal/envd.
func TestNoAgentServerImport(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/soulbox/soulbox/internal/agent/server") {
			t.Errorf("internal/api depends on %s", dep)
		}
	}
}
