package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/soulbox/soulbox/internal/runtime"
)

// startSandbox creates and starts a sandbox that the test destroys.
func startSandbox(t *testing.T, d *Driver, id string, limits runtime.Limits) runtime.Info {
	t.Helper()
	ctx := context.Background()
	info, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base", Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Destroy(context.Background(), id) })
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	return info
}

// Create answers from what the runtime's create told it; what it answers
// must be what the runtime says when asked.
func TestCreateReportsTheRuntimesState(t *testing.T) {
	d := newTestDriver(t, nil)
	ctx := context.Background()
	info, err := d.Create(ctx, runtime.Spec{ID: "coldinfo", Template: "base"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Destroy(context.Background(), "coldinfo") })
	asked, err := d.Info(ctx, "coldinfo")
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != runtime.StatusCreated || info.Pid == 0 || info.Pid != asked.Pid || asked.Status != info.Status {
		t.Errorf("create answered %s pid %d; the runtime says %s pid %d", info.Status, info.Pid, asked.Status, asked.Pid)
	}
	if info.HostUID != asked.HostUID || !info.CreatedAt.Equal(asked.CreatedAt) || info.Limits != asked.Limits {
		t.Errorf("create answered %+v, Info %+v", info, asked)
	}
}

// The agent is the OOM killer's last choice once started: Start finds it
// by the pid the runtime wrote, checked against the sandbox's cgroup.
func TestStartProtectsTheAgent(t *testing.T) {
	if !hasCapSysResource() {
		t.Skip("lowering an OOM score needs CAP_SYS_RESOURCE, which this process lacks")
	}
	d := newTestDriver(t, nil)
	startSandbox(t, d, "coldoom", runtime.Limits{})
	info, err := d.Info(context.Background(), "coldoom")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", info.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != "-998" {
		t.Errorf("agent's oom_score_adj = %s, want -998", got)
	}
	if d.inSandboxCgroup("coldoom", os.Getpid()) {
		t.Error("the test process counts as a process of the sandbox")
	}
}

// Destroy kills a paused sandbox's processes through its cgroup (thawed
// first) and leaves nothing, the runtime's record included.
func TestDestroyPausedSandbox(t *testing.T) {
	d := newTestDriver(t, nil)
	ctx := context.Background()
	startSandbox(t, d, "coldpause", runtime.Limits{})
	sh(t, d, "coldpause", "sleep 600 >/dev/null 2>&1 &")
	if err := d.Pause(ctx, "coldpause"); err != nil {
		t.Fatal(err)
	}
	if err := d.Destroy(ctx, "coldpause"); err != nil {
		t.Fatalf("destroy of a paused sandbox: %v", err)
	}
	if left := d.Leftovers(ctx, "coldpause"); len(left) > 0 {
		t.Errorf("left after destroying a paused sandbox: %v", left)
	}
}

// Every sandbox's disk is its own copy of the blank image: what one
// writes, another does not see, and the blank stays as formatted.
func TestDisksAreCopiesOfTheBlank(t *testing.T) {
	d := newTestDriver(t, nil)
	limits := runtime.Limits{DiskMB: 256}
	startSandbox(t, d, "colddisk1", limits)
	blank := filepath.Join(d.blankDir(), "blank-v"+blankDiskVersion+"-256M.img")
	before := fileHash(t, blank)
	sh(t, d, "colddisk1", "head -c 1000000 /dev/urandom > /root/mine && sync")
	startSandbox(t, d, "colddisk2", limits)
	if out := sh(t, d, "colddisk2", "ls /root/mine 2>&1 || true"); !strings.Contains(out, "No such file") {
		t.Errorf("second sandbox sees the first's file: %q", out)
	}
	if fileHash(t, blank) != before {
		t.Error("the blank image changed")
	}
	// The copy keeps the blank's holes: its size on disk is about the
	// blank's, not the quota.
	var bst, cst syscall.Stat_t
	if err := syscall.Stat(blank, &bst); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(d.diskImage("colddisk2"), &cst); err != nil {
		t.Fatal(err)
	}
	if cst.Size != 256<<20 || cst.Blocks*512 > 4*bst.Blocks*512+(8<<20) {
		t.Errorf("disk image size %d, %d bytes on disk; blank %d bytes on disk", cst.Size, cst.Blocks*512, bst.Blocks*512)
	}
}

// Beyond maxBlankDisks sizes, a disk is formatted for its sandbox alone
// and no blank is kept for it.
func TestBlankDisksAreBounded(t *testing.T) {
	d := newTestDriver(t, nil)
	if err := os.MkdirAll(d.blankDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range maxBlankDisks {
		p := filepath.Join(d.blankDir(), fmt.Sprintf("blank-v%s-%dM.img", blankDiskVersion, 1000+i))
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	startSandbox(t, d, "coldbound", runtime.Limits{DiskMB: 200})
	if out := sh(t, d, "coldbound", "echo hi > /root/f && cat /root/f"); out != "hi\n" {
		t.Errorf("write on a disk formatted in place: %q", out)
	}
	if _, err := os.Stat(filepath.Join(d.blankDir(), "blank-v"+blankDiskVersion+"-200M.img")); err == nil {
		t.Error("a blank was kept beyond the bound")
	}
}

// copySparse copies the data and keeps the holes.
func TestCopySparse(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 10 << 20, 64<<20 - 3} {
		if _, err := f.WriteAt([]byte("abc"), off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if err := copySparse(src, dst); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(dst)
	if !bytes.Equal(a, b) {
		t.Fatal("copy differs from its source")
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dst, &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 > 1<<20 {
		t.Errorf("copy takes %d bytes on disk: holes were filled", st.Blocks*512)
	}
	if err := copySparse(src, dst); err == nil {
		t.Error("copy over an existing file succeeded")
	}
}

func fileHash(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return string(h.Sum(nil))
}

// hasCapSysResource reports whether this process may lower OOM scores.
func hasCapSysResource() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			return err == nil && caps&(1<<24) != 0 // CAP_SYS_RESOURCE
		}
	}
	return false
}

// A blank disk of the default 10 GiB writes well under a megabyte: each
// sandbox's disk is a copy of it, so this is what every create copies
// and every sandbox takes of the host's disk before it writes anything.
func TestBlankDiskIsSmall(t *testing.T) {
	d := newTestDriver(t, nil)
	blank, err := d.blankDisk(10240)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(blank, &st); err != nil {
		t.Fatal(err)
	}
	if used := st.Blocks * 512; used > 1<<20 {
		t.Errorf("blank 10 GiB disk uses %d bytes of the host's disk, want under 1 MiB", used)
	}
}
