package server_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/client"
)

// BenchmarkPausedHostMemory pauses b.N sandboxes with their memory, each
// running the Python counter server, and reports what the host keeps per
// paused sandbox: the server's Go heap (after a GC, against the heap
// before the first create), live host processes in or naming the sandbox
// and their resident memory, unreaped zombies, cgroups, mounts (its disk
// image, layers, root and network namespace) and network links. The sandbox's own memory is in its checkpoint on disk.
//
//	go test -run '^$' -bench PausedHostMemory -benchtime=20x ./internal/server
func BenchmarkPausedHostMemory(b *testing.B) {
	cfg := testConfig(b)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.MaxSandboxes = max(b.N, 1)
	addr, stop := serveInProcess(b, cfg)
	c := apiClient{t: b, base: "http://" + addr, key: cfg.AdminKey}
	var ids []string
	defer func() {
		for _, id := range ids {
			c.do("DELETE", "/sandboxes/"+id, nil)
		}
		if err := stop(); err != nil {
			b.Error(err)
		}
	}()
	cl := &client.Client{BaseURL: c.base, APIKey: c.key}
	heap0 := goHeap()
	for range b.N {
		var sb sandboxJSON
		c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 3600}, &sb)
		ids = append(ids, sb.SandboxID)
		got, err := cl.Get(context.Background(), sb.SandboxID)
		if err != nil {
			b.Fatal(err)
		}
		got.EnvdAccessToken = *sb.EnvdAccessToken
		script := counterServer + " for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"
		if code, err := cl.Exec(context.Background(), got, []string{"bash", "-c", script}, client.ExecOptions{}); err != nil || code != 0 {
			b.Fatalf("counter server: %d %v", code, err)
		}
		c.want(204, "POST", "/sandboxes/"+sb.SandboxID+"/pause", map[string]any{"memory": true}, nil)
	}
	heap1 := goHeap()
	var procs, rssKiB, zombies, cgroups, mounts, links int
	for _, id := range ids {
		p, r, z := hostProcesses(id)
		procs, rssKiB, zombies = procs+p, rssKiB+r, zombies+z
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/soulbox-*/" + id)
		d2, _ := filepath.Glob("/sys/fs/cgroup/soulbox-*/" + id)
		cgroups += len(dirs) + len(d2)
		mounts += mountsNaming(id)
		links += linksOf(id)
	}
	n := float64(len(ids))
	b.ReportMetric(float64(int64(heap1)-int64(heap0))/n/1024, "server-heap-KiB/paused")
	b.ReportMetric(float64(procs)/n, "host-procs/paused")
	b.ReportMetric(float64(rssKiB)/n, "host-procs-RSS-KiB/paused")
	b.ReportMetric(float64(zombies)/n, "zombies/paused")
	b.ReportMetric(float64(cgroups)/n, "cgroups/paused")
	b.ReportMetric(float64(mounts)/n, "mounts/paused")
	b.ReportMetric(float64(links)/n, "netlinks/paused")
	b.ReportMetric(0, "ns/op")
}

// goHeap is the bytes of live heap objects after a collection.
func goHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// hostProcesses counts the live host processes in a cgroup of sandbox id
// or whose command line names it, their resident memory in KiB, and the
// zombies among them (exited, not yet reaped by their parent: a sandbox's
// init, once its checkpoint ends it, is reaped by the host's PID 1).
func hostProcesses(id string) (n, rssKiB, zombies int) {
	pids, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range pids {
		cg, _ := os.ReadFile(p + "/cgroup")
		cmd, _ := os.ReadFile(p + "/cmdline")
		if !bytes.Contains(cg, []byte(id)) && !bytes.Contains(cmd, []byte(id)) {
			continue
		}
		st, _ := os.ReadFile(p + "/status")
		live := true
		for _, l := range strings.Split(string(st), "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 && f[0] == "State:" && f[1] == "Z" {
				live = false
				zombies++
			}
			if len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.Atoi(f[1])
				rssKiB += kb
			}
		}
		if live {
			n++
		}
	}
	return n, rssKiB, zombies
}

// mountsNaming counts the host mounts that name sandbox id: its disk
// image, template layers and root under the data directory, and its
// network namespace.
func mountsNaming(id string) int {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.Contains(s.Text(), id) {
			n++
		}
	}
	return n
}

// linksOf counts the host network links whose alias names sandbox id.
func linksOf(id string) int {
	aliases, _ := filepath.Glob("/sys/class/net/*/ifalias")
	n := 0
	for _, a := range aliases {
		if b, _ := os.ReadFile(a); strings.Contains(string(b), id) {
			n++
		}
	}
	return n
}
