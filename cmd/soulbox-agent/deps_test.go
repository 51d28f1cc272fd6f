package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// allowedDeps are the only non-standard-library packages the agent may
// link. The agent is in every sandbox's memory; each dependency is paid for
// by every sandbox, so adding one is a decision, not an accident.
var allowedDeps = []string{
	"github.com/soulbox/soulbox/",
	"golang.org/x/sys/",
	"connectrpc.com/connect/",
	"google.golang.org/protobuf/",
	"github.com/fsnotify/fsnotify/",
}

func TestAgentDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		ok := false
		for _, prefix := range allowedDeps {
			if strings.HasPrefix(dep+"/", prefix) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("agent links %s, which is not in its allowed dependency list", dep)
		}
	}
}

func TestAgentIsStatic(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "soulbox-agent")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("agent binary has a dynamic loader: it must be static to run in any template")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("agent binary links shared libraries %v", libs)
	}
}
