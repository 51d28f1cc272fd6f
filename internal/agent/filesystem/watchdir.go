package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
	"github.com/soulbox/soulbox/internal/agent/files"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// WatchDir streams the changes in a directory: a start event once the
// watch is in place, then a filesystem event per change, and keepalive
// events while idle. It ends when the client goes away or its deadline
// passes (the SDKs' watchDir timeoutMs), or with an error when inotify
// fails (resource_exhausted when its queue overflowed and events were
// lost). A missing path is not_found, a file invalid_argument.
func (s *Service) WatchDir(ctx context.Context, req *connect.Request[pb.WatchDirRequest], stream *connect.ServerStream[pb.WatchDirResponse]) error {
	m := req.Msg
	w, err := s.openWatch(req.Header(), m.GetPath(), m.GetRecursive(), m.GetIncludeEntry(), m.GetAllowNetworkMounts())
	if err != nil {
		return err
	}
	defer w.close()

	if err := stream.Send(&pb.WatchDirResponse{Event: &pb.WatchDirResponse_Start{Start: &pb.WatchDirResponse_StartEvent{}}}); err != nil {
		return err
	}
	every := keepaliveInterval(req.Header(), s.Keepalive)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-w.fw.Events:
			if !ok {
				return connect.NewError(connect.CodeInternal, errors.New("directory watch closed"))
			}
			for _, fe := range w.translate(ev) {
				if err := stream.Send(&pb.WatchDirResponse{Event: &pb.WatchDirResponse_Filesystem{Filesystem: fe}}); err != nil {
					return err
				}
			}
			tick.Reset(every)
		case err, ok := <-w.fw.Errors:
			if !ok {
				return connect.NewError(connect.CodeInternal, errors.New("directory watch closed"))
			}
			return connectError(watchError(err))
		case <-tick.C:
			if err := stream.Send(&pb.WatchDirResponse{Event: &pb.WatchDirResponse_Keepalive{Keepalive: &pb.WatchDirResponse_KeepAlive{}}}); err != nil {
				return err
			}
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return connect.NewError(connect.CodeDeadlineExceeded, errors.New("watch deadline reached"))
			}
			return connect.NewError(connect.CodeCanceled, ctx.Err())
		}
	}
}

// watchError puts an error inotify reported in its category.
func watchError(err error) error {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		return fmt.Errorf("too many changes at once: the kernel's inotify queue overflowed and events were lost: %w", errdefs.ErrResourceExhausted)
	}
	return fmt.Errorf("directory watch failed: %w", err)
}

// Network file system magic numbers (statfs(2) f_type, linux/magic.h).
const (
	nfsMagic  = 0x6969
	smbMagic  = 0x517B
	cifsMagic = 0xFF534D42
	smb2Magic = 0xFE534D42
	fuseMagic = 0x65735546
)

// networkFS reports whether a statfs f_type is a file system whose
// changes inotify may not see: changes made by other machines (NFS,
// SMB/CIFS) or by a FUSE server never go through this kernel's inotify.
func networkFS(fsType uint32) bool {
	switch fsType {
	case nfsMagic, smbMagic, cifsMagic, smb2Magic, fuseMagic:
		return true
	}
	return false
}

// openWatch checks a watch request and sets up its inotify watches.
func (s *Service) openWatch(h http.Header, path string, recursive, includeEntry, allowNetwork bool) (*watch, error) {
	u, err := s.user(h)
	if err != nil {
		return nil, err
	}
	root, err := resolvePath(path, u)
	if err != nil {
		return nil, connectError(err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, connectError(fsError(err))
	}
	if !fi.IsDir() {
		return nil, connectError(invalid("cannot watch %s: not a directory", validUTF8(root)))
	}
	if !allowNetwork {
		var st unix.Statfs_t
		if err := unix.Statfs(root, &st); err != nil {
			return nil, connectError(fsError(&fs.PathError{Op: "statfs", Path: root, Err: err}))
		}
		if networkFS(uint32(st.Type)) {
			return nil, connectError(invalid("cannot watch %s: it is on a network or FUSE file system (type %#x), where changes may not be reported; set allow_network_mounts to watch it anyway", validUTF8(root), uint32(st.Type)))
		}
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, connectError(fsError(err))
	}
	w := &watch{
		root: root, recursive: recursive, includeEntry: includeEntry,
		names: s.names, log: s.log, fw: fw,
		dirs: map[string]bool{}, movedAway: map[string]bool{},
	}
	if err := addWatch(fw, root); err != nil {
		_ = fw.Close()
		return nil, connectError(err)
	}
	if recursive {
		if _, err := w.addTree(root, false); err != nil {
			_ = fw.Close()
			return nil, connectError(err)
		}
	}
	return w, nil
}

// watch follows a directory, and when recursive every directory below
// it, through one inotify instance (fsnotify, which watches single
// directories), and turns what inotify reports into envd's events.
// Only the goroutine reading fw.Events may call translate.
type watch struct {
	root         string
	recursive    bool
	includeEntry bool
	names        *nameCache
	log          *slog.Logger
	fw           *fsnotify.Watcher

	// dirs are the subdirectories watched (recursive watches only).
	dirs map[string]bool
	// movedAway are watched directories just renamed: inotify reports
	// that twice, from the parent and from the directory itself, and
	// the second report is dropped.
	movedAway map[string]bool
}

// close stops the watch: its inotify descriptor and fsnotify's reader
// goroutine are gone when it returns.
func (w *watch) close() {
	_ = w.fw.Close()
}

// addTree watches the directories below dir. With synthesize, it also
// returns a CREATE event for every entry found: they were made before
// their directory was watched (mkdir -p a/b/c reports only a), or moved
// in with it. An entry made between the watch and the read is reported
// twice. Errors on subdirectories that vanish meanwhile are ignored.
func (w *watch) addTree(dir string, synthesize bool) ([]*pb.FilesystemEvent, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fsError(err)
	}
	var out []*pb.FilesystemEvent
	for _, d := range ents {
		p := filepath.Join(dir, d.Name())
		if synthesize {
			out = append(out, w.event(p, pb.EventType_EVENT_TYPE_CREATE))
		}
		// d.IsDir is false for symlinks: they are not followed.
		if !d.IsDir() || w.dirs[p] {
			continue
		}
		if err := addWatch(w.fw, p); err != nil {
			if errors.Is(err, errdefs.ErrNotFound) {
				continue
			}
			return out, err
		}
		w.dirs[p] = true
		evs, err := w.addTree(p, synthesize)
		out = append(out, evs...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// addWatch adds an inotify watch on dir.
func addWatch(fw *fsnotify.Watcher, dir string) error {
	err := fw.Add(dir)
	if errors.Is(err, unix.ENOSPC) {
		return fmt.Errorf("cannot watch %s: the sandbox's limit of inotify watches (fs.inotify.max_user_watches) is reached: %w", validUTF8(dir), errdefs.ErrResourceExhausted)
	}
	if err != nil {
		return fsError(&fs.PathError{Op: "watch", Path: dir, Err: err})
	}
	return nil
}

// forget stops watching dir and every directory below it.
func (w *watch) forget(dir string) {
	for p := range w.dirs {
		if p == dir || strings.HasPrefix(p, dir+"/") {
			delete(w.dirs, p)
			// Already gone when inotify removed it itself (deleted, moved).
			_ = w.fw.Remove(p)
		}
	}
}

// eventOps are envd's event types of an fsnotify event, in E2B's order:
// one inotify event may carry several.
var eventOps = []struct {
	op fsnotify.Op
	t  pb.EventType
}{
	{fsnotify.Create, pb.EventType_EVENT_TYPE_CREATE},
	{fsnotify.Rename, pb.EventType_EVENT_TYPE_RENAME},
	{fsnotify.Chmod, pb.EventType_EVENT_TYPE_CHMOD},
	{fsnotify.Write, pb.EventType_EVENT_TYPE_WRITE},
	{fsnotify.Remove, pb.EventType_EVENT_TYPE_REMOVE},
}

// translate turns one fsnotify event into envd's events, and keeps a
// recursive watch's set of directories up to date: a directory that
// appears is watched (before its event is returned, so a client that
// waits for it and then writes inside is seen), one that goes is not.
func (w *watch) translate(ev fsnotify.Event) []*pb.FilesystemEvent {
	name := ev.Name
	if strings.HasPrefix(filepath.Base(name), files.TempPrefix) {
		return nil // an upload in progress: its file appears when renamed
	}
	if w.recursive && ev.Has(fsnotify.Rename) && !ev.Has(fsnotify.Create) && w.movedAway[name] {
		delete(w.movedAway, name)
		return nil
	}
	if w.recursive && (ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Remove)) && w.dirs[name] {
		w.forget(name)
		if ev.Has(fsnotify.Rename) {
			w.movedAway[name] = true
		}
	}
	var out []*pb.FilesystemEvent
	for _, o := range eventOps {
		if ev.Has(o.op) {
			out = append(out, w.event(name, o.t))
		}
	}
	if w.recursive && ev.Has(fsnotify.Create) {
		delete(w.movedAway, name)
		if fi, err := os.Lstat(name); err == nil && fi.IsDir() && !w.dirs[name] && name != w.root {
			err := addWatch(w.fw, name)
			if err == nil {
				w.dirs[name] = true
				var evs []*pb.FilesystemEvent
				evs, err = w.addTree(name, true)
				out = append(out, evs...)
			}
			// The watch goes on without the part it cannot see.
			if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
				w.log.Warn("cannot watch a new directory", "path", name, "err", err)
			}
		}
	}
	return out
}

// event is the envd event of type t at path p, named relative to the
// watched directory as E2B names it ("." for the directory itself).
func (w *watch) event(p string, t pb.EventType) *pb.FilesystemEvent {
	rel, err := filepath.Rel(w.root, p)
	if err != nil {
		rel = p
	}
	fe := &pb.FilesystemEvent{Name: validUTF8(rel), Type: t}
	if w.includeEntry {
		// Absent when the entry is gone (removed, renamed away).
		if e, err := entry(p, w.names.load()); err == nil {
			fe.Entry = e
		}
	}
	return fe
}
