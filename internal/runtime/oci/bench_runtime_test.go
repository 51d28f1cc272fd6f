package oci

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/soulbox/soulbox/internal/runtime"
)

// BenchmarkRuntimeVariants runs /bin/true to its end with the runtime's
// own `run`, in bundles that add one part of a sandbox's config at a time,
// interleaved round by round so that the host's load hits every variant
// alike. It shows what each part costs the runtime, and what crun would
// cost on this host, whose hybrid cgroup layout crun refuses (it runs
// here in a mount namespace without the v2 hierarchy). Each
// variant reports its median wall time (<variant>-ms) and CPU
// (<variant>-cpu-ms: the runtime's and the container's, both waited for).
//
//	go test -run '^$' -bench RuntimeVariants -benchtime 20x ./internal/runtime/oci/
func BenchmarkRuntimeVariants(b *testing.B) {
	d := newTestDriver(b, nil)
	ctx := context.Background()
	layers, err := d.templates.Layers(ctx, "base")
	if err != nil {
		b.Fatal(err)
	}
	slot, hostUID, err := d.takeSlot("benchvariants")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.releaseSlot(slot, "benchvariants") })
	sandbox := func(seccomp, userns bool) *specs.Spec {
		s := ociSpec(bundleSpec{
			id: "variant", rootfs: layers[0], hostUID: hostUID, limits: runtime.Limits{}.WithDefaults(),
			runtime: "runc", cgroupsPath: d.cgroups.cgroupsPath("variant"),
		})
		s.Root.Readonly = true
		s.Process.Args = []string{"/bin/true"}
		s.Mounts = s.Mounts[:len(s.Mounts)-1] // no agent to bind
		s.Annotations = nil
		if !seccomp {
			s.Linux.Seccomp = nil
		}
		if !userns {
			s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
			s.Linux.Namespaces = s.Linux.Namespaces[:len(s.Linux.Namespaces)-1]
		}
		return s
	}
	type variant struct {
		name, rt string
		global   []string
		spec     *specs.Spec
	}
	variants := []variant{
		{"runc-plain", "runc", nil, baselineSpec(layers[0])},
		{"runc-sandbox", "runc", nil, sandbox(true, true)},
		{"runc-sandbox-noseccomp", "runc", nil, sandbox(false, true)},
		{"runc-sandbox-nouserns", "runc", nil, sandbox(true, false)},
	}
	if _, err := exec.LookPath("crun"); err == nil {
		// crun 1.8 refuses this host's hybrid layout even with its cgroup
		// manager disabled; in a mount namespace of its own where the v2
		// hierarchy is unmounted it sees a plain v1 host and manages the
		// v1 cgroups itself. The wrapper variant is the cost of that
		// namespace alone.
		v1 := v1Spec
		variants = append(variants,
			variant{"crun-plain", "crun", nil, v1(baselineSpec(layers[0]))},
			variant{"crun-sandbox", "crun", nil, v1(sandbox(true, true))},
			variant{"crun-sandbox-noseccomp", "crun", nil, v1(sandbox(false, true))},
			variant{"v1-namespace-wrapper", "true", nil, baselineSpec(layers[0])},
		)
	}
	dir := b.TempDir()
	wrap := func(rt string, args ...string) *exec.Cmd {
		if (rt == "crun" || rt == "true") && !d.cgroups.unified {
			return exec.CommandContext(ctx, "unshare", append([]string{"-m", "--propagation", "slave",
				"sh", "-c", `umount -l /sys/fs/cgroup/unified && exec "$@"`, "sh", rt}, args...)...)
		}
		return exec.CommandContext(ctx, rt, args...)
	}
	if _, err := exec.LookPath("crun"); err == nil {
		// crun keeps the filter it compiled in its state directory (for
		// its exec); handed back through run.oci.seccomp_bpf_data it is
		// loaded as it is, without compiling the profile again.
		bpf, err := crunCompiledSeccomp(dir, v1Spec(sandbox(true, true)), wrap)
		if err != nil {
			b.Fatal(err)
		}
		pre := v1Spec(sandbox(true, true))
		pre.Annotations = map[string]string{"run.oci.seccomp_bpf_data": base64.StdEncoding.EncodeToString(bpf)}
		variants = append(variants, variant{"crun-sandbox-precompiled-seccomp", "crun", nil, pre})
	}
	for _, v := range variants {
		if err := os.MkdirAll(filepath.Join(dir, v.name), 0o700); err != nil {
			b.Fatal(err)
		}
		if err := writeJSON(filepath.Join(dir, v.name, "config.json"), v.spec); err != nil {
			b.Fatal(err)
		}
	}
	samples := map[string][]float64{}
	for i := 0; b.Loop(); i++ {
		for _, v := range variants {
			id := fmt.Sprintf("variant-%s-%d", v.name, i)
			args := append(append([]string{"--root", filepath.Join(dir, "state-"+v.rt)}, v.global...),
				"run", "--bundle", filepath.Join(dir, v.name), id)
			cmd := wrap(v.rt, args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cpu0, start := cpuTime(), time.Now()
			if err := cmd.Run(); err != nil {
				b.Fatalf("%s: %v: %s", v.name, err, out.String())
			}
			samples[v.name+"-ms"] = append(samples[v.name+"-ms"], float64(time.Since(start))/1e6)
			samples[v.name+"-cpu-ms"] = append(samples[v.name+"-cpu-ms"], float64(cpuTime()-cpu0)/1e6)
		}
	}
	reportMedians(b, samples)
}

// v1Spec makes a spec crun 1.8 takes: it knows runtime-spec 1.0.x only.
func v1Spec(s *specs.Spec) *specs.Spec {
	s.Version = "1.0.2"
	return s
}

// crunCompiledSeccomp has crun create a container of spec and returns the
// seccomp program it compiled for it.
func crunCompiledSeccomp(dir string, spec *specs.Spec, wrap func(string, ...string) *exec.Cmd) ([]byte, error) {
	bundle, root := filepath.Join(dir, "compile"), filepath.Join(dir, "compile-state")
	if err := os.MkdirAll(bundle, 0o700); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(bundle, "config.json"), spec); err != nil {
		return nil, err
	}
	// Into a file: the container's init keeps its stdio open, so a pipe
	// would never end.
	log := filepath.Join(dir, "compile.log")
	out, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	create := wrap("crun", "--root", root, "create", "--bundle", bundle, "compile")
	create.Stdout, create.Stderr = out, out
	if err := create.Run(); err != nil {
		msg, _ := os.ReadFile(log)
		return nil, fmt.Errorf("crun create: %v: %s", err, msg)
	}
	defer wrap("crun", "--root", root, "delete", "-f", "compile").Run()
	return os.ReadFile(filepath.Join(root, "compile", "seccomp.bpf"))
}
