package filesystem

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"go.uber.org/goleak"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
)

// watching is a WatchDir stream read in the background.
type watching struct {
	t      *testing.T
	events chan *pb.WatchDirResponse
	cancel context.CancelFunc
	done   chan struct{}
	err    error // the stream's end, once done is closed
}

func watchDir(t *testing.T, f *fixture, req *pb.WatchDirRequest) *watching {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := f.client.WatchDir(ctx, connect.NewRequest(req))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	w := &watching{t: t, events: make(chan *pb.WatchDirResponse, 1000), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer close(w.events)
		for stream.Receive() {
			select {
			case w.events <- stream.Msg():
			case <-ctx.Done():
			}
		}
		w.err = stream.Err()
		_ = stream.Close()
	}()
	t.Cleanup(w.stop)
	return w
}

func (w *watching) stop() {
	w.cancel()
	<-w.done
}

// next returns the next response, or nil when the stream ended.
func (w *watching) next() *pb.WatchDirResponse {
	w.t.Helper()
	select {
	case r := <-w.events:
		return r
	case <-time.After(10 * time.Second):
		w.t.Fatal("no event within 10s")
		return nil
	}
}

// started fails unless the first response is the start event.
func (w *watching) started() {
	w.t.Helper()
	if r := w.next(); r.GetStart() == nil {
		w.t.Fatalf("first response %v (stream end: %v), want start", r, w.err)
	}
}

// await returns the first filesystem event named name of type typ, and
// the filesystem events received before it.
func (w *watching) await(name string, typ pb.EventType) (*pb.FilesystemEvent, []*pb.FilesystemEvent) {
	w.t.Helper()
	var seen []*pb.FilesystemEvent
	for {
		r := w.next()
		if r == nil {
			w.t.Fatalf("stream ended (%v) before %s %s; saw %s", w.err, typ, name, names(seen))
		}
		fe := r.GetFilesystem()
		if fe == nil {
			continue
		}
		if fe.GetName() == name && fe.GetType() == typ {
			return fe, seen
		}
		seen = append(seen, fe)
	}
}

func names(evs []*pb.FilesystemEvent) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "[%s %s] ", strings.TrimPrefix(e.GetType().String(), "EVENT_TYPE_"), e.GetName())
	}
	return b.String()
}

func TestWatchDirRecursive(t *testing.T) {
	f := newFixture(t)
	root := filepath.Join(f.home, "watched")
	mkdir(t, filepath.Join(root, "old/deeper"))
	w := watchDir(t, f, &pb.WatchDirRequest{Path: "watched", Recursive: true, IncludeEntry: true})
	w.started()

	// Directories that existed before the watch are watched.
	write(t, filepath.Join(root, "old/deeper/f"), "x")
	w.await("old/deeper/f", pb.EventType_EVENT_TYPE_CREATE)

	// A new subdirectory is watched by the time its CREATE arrives.
	mkdir(t, filepath.Join(root, "sub"))
	fe, _ := w.await("sub", pb.EventType_EVENT_TYPE_CREATE)
	if fe.GetEntry().GetType() != pb.FileType_FILE_TYPE_DIRECTORY || fe.GetEntry().GetPath() != filepath.Join(root, "sub") {
		t.Errorf("entry of sub: %v", fe.GetEntry())
	}
	file := filepath.Join(root, "sub/file.txt")
	fh, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	fe, _ = w.await("sub/file.txt", pb.EventType_EVENT_TYPE_CREATE)
	if e := fe.GetEntry(); e.GetType() != pb.FileType_FILE_TYPE_FILE || e.GetPath() != file || e.GetName() != "file.txt" {
		t.Errorf("entry of the created file: %v", e)
	}
	if _, err := fh.WriteString("hello"); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	fe, _ = w.await("sub/file.txt", pb.EventType_EVENT_TYPE_WRITE)
	if fe.Entry == nil {
		t.Error("write event without the entry")
	}

	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	w.await("sub/file.txt", pb.EventType_EVENT_TYPE_CHMOD)

	if err := os.Rename(file, filepath.Join(root, "sub/renamed.txt")); err != nil {
		t.Fatal(err)
	}
	fe, _ = w.await("sub/file.txt", pb.EventType_EVENT_TYPE_RENAME)
	if fe.Entry != nil {
		t.Errorf("renamed-away entry described: %v", fe.GetEntry())
	}
	fe, _ = w.await("sub/renamed.txt", pb.EventType_EVENT_TYPE_CREATE)
	if fe.GetEntry().GetSize() != 5 {
		t.Errorf("entry of the rename's destination: %v", fe.GetEntry())
	}

	if err := os.Remove(filepath.Join(root, "sub/renamed.txt")); err != nil {
		t.Fatal(err)
	}
	fe, _ = w.await("sub/renamed.txt", pb.EventType_EVENT_TYPE_REMOVE)
	if fe.Entry != nil {
		t.Errorf("removed entry described: %v", fe.GetEntry())
	}

	// Removing a whole tree.
	if err := os.RemoveAll(filepath.Join(root, "old")); err != nil {
		t.Fatal(err)
	}
	w.await("old/deeper/f", pb.EventType_EVENT_TYPE_REMOVE)
	w.await("old", pb.EventType_EVENT_TYPE_REMOVE)
}

// mkdir -p makes the inner directories before they can be watched: their
// CREATE events are made up, and they are watched all the same.
func TestWatchDirNestedMkdir(t *testing.T) {
	f := newFixture(t)
	w := watchDir(t, f, &pb.WatchDirRequest{Path: f.home, Recursive: true})
	w.started()
	mkdir(t, filepath.Join(f.home, "a/b/c/d"))
	for _, n := range []string{"a", "a/b", "a/b/c", "a/b/c/d"} {
		w.await(n, pb.EventType_EVENT_TYPE_CREATE)
	}
	write(t, filepath.Join(f.home, "a/b/c/d/f"), "x")
	w.await("a/b/c/d/f", pb.EventType_EVENT_TYPE_CREATE)
}

// A directory renamed out of the watched tree is reported once and no
// longer watched; one renamed within it is watched under its new name.
func TestWatchDirMovedDirectories(t *testing.T) {
	f := newFixture(t)
	root := filepath.Join(f.home, "w")
	mkdir(t, filepath.Join(root, "in/sub"))
	mkdir(t, filepath.Join(root, "out/sub"))
	w := watchDir(t, f, &pb.WatchDirRequest{Path: root, Recursive: true})
	w.started()

	if err := os.Rename(filepath.Join(root, "in"), filepath.Join(root, "renamed")); err != nil {
		t.Fatal(err)
	}
	w.await("in", pb.EventType_EVENT_TYPE_RENAME)
	w.await("renamed", pb.EventType_EVENT_TYPE_CREATE)
	write(t, filepath.Join(root, "renamed/sub/f"), "x")
	_, before := w.await("renamed/sub/f", pb.EventType_EVENT_TYPE_CREATE)
	for _, e := range before {
		if strings.HasPrefix(e.GetName(), "in") || e.GetName() == "renamed/sub/f" {
			t.Errorf("stale event %s", names([]*pb.FilesystemEvent{e}))
		}
	}

	if err := os.Rename(filepath.Join(root, "out"), filepath.Join(f.dir, "gone")); err != nil {
		t.Fatal(err)
	}
	w.await("out", pb.EventType_EVENT_TYPE_RENAME)
	write(t, filepath.Join(f.dir, "gone/sub/f"), "x")
	write(t, filepath.Join(root, "marker"), "x")
	_, before = w.await("marker", pb.EventType_EVENT_TYPE_CREATE)
	if len(before) != 0 {
		t.Errorf("after moving out: %s", names(before))
	}
}

func TestWatchDirNotRecursive(t *testing.T) {
	f := newFixture(t)
	mkdir(t, filepath.Join(f.home, "sub"))
	w := watchDir(t, f, &pb.WatchDirRequest{Path: "~"})
	w.started()
	write(t, filepath.Join(f.home, "sub/inner"), "x")
	write(t, filepath.Join(f.home, "top"), "x")
	fe, before := w.await("top", pb.EventType_EVENT_TYPE_CREATE)
	if fe.Entry != nil {
		t.Errorf("entry without include_entry: %v", fe.GetEntry())
	}
	for _, e := range before {
		if strings.HasPrefix(e.GetName(), "sub/") {
			t.Errorf("event below the watched directory: %s", names(before))
		}
	}
}

func TestWatchDirKeepalive(t *testing.T) {
	f := newFixture(t)
	f.svc.Keepalive = 20 * time.Millisecond
	w := watchDir(t, f, &pb.WatchDirRequest{Path: f.home})
	w.started()
	for range 2 {
		if r := w.next(); r.GetKeepalive() == nil {
			t.Fatalf("idle stream sent %v, want keepalive", r)
		}
	}
}

func TestWatchDirErrors(t *testing.T) {
	f := newFixture(t)
	write(t, filepath.Join(f.home, "file"), "x")
	for _, tc := range []struct {
		path string
		want connect.Code
	}{
		{"missing", connect.CodeNotFound}, // the SDKs throw FileNotFoundError
		{"file", connect.CodeInvalidArgument},
		{"", connect.CodeInvalidArgument},
	} {
		w := watchDir(t, f, &pb.WatchDirRequest{Path: tc.path})
		if r := w.next(); r != nil {
			t.Errorf("watch %q: got %v before the error", tc.path, r)
		}
		<-w.done
		wantCode(t, "watch "+tc.path, w.err, tc.want)
	}
}

func TestNetworkFS(t *testing.T) {
	for _, typ := range []uint32{0x6969, 0x517B, 0xFF534D42, 0xFE534D42, 0x65735546} {
		if !networkFS(typ) {
			t.Errorf("%#x is a network file system", typ)
		}
	}
	for _, typ := range []uint32{0xEF53 /* ext4 */, 0x01021994 /* tmpfs */, 0x794c7630 /* overlay */, 0x9123683E /* btrfs */} {
		if networkFS(typ) {
			t.Errorf("%#x is local", typ)
		}
	}
}

// inotifyFDs counts the process's inotify descriptors.
func inotifyFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if l, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); l == "anon_inode:inotify" {
			n++
		}
	}
	return n
}

// eventually fails unless cond holds within 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
	}
}

func TestWatchDirCancelStopsWatch(t *testing.T) {
	f := newFixture(t)
	mkdir(t, filepath.Join(f.home, "a/b"))
	base := inotifyFDs(t)
	ignore := goleak.IgnoreCurrent()

	w := watchDir(t, f, &pb.WatchDirRequest{Path: f.home, Recursive: true})
	w.started()
	if n := inotifyFDs(t); n != base+1 {
		t.Errorf("%d inotify descriptors while watching, want %d", n, base+1)
	}
	w.stop()
	eventually(t, "inotify descriptor closed", func() bool { return inotifyFDs(t) == base })
	if err := goleak.Find(ignore); err != nil {
		t.Error(err)
	}
}
