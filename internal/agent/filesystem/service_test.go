package filesystem

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/fsnotify/fsnotify"
	"go.uber.org/goleak"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
	"github.com/soulbox/soulbox/api/envd/filesystem/filesystemconnect"
	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/agent/users"
	"github.com/soulbox/soulbox/internal/errdefs"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fixture is a Filesystem service over HTTP whose default user, "user",
// has a temporary home. As root the user is uid 1234, gid 1235, so that
// ownership is visible; otherwise it is the test's own uid and gid.
type fixture struct {
	dir      string // a temporary directory outside the home
	home     string
	uid, gid uint32
	files    users.Files
	svc      *Service
	client   filesystemconnect.FilesystemClient
	// json speaks the protocol as the SDKs do: Connect with protojson.
	json filesystemconnect.FilesystemClient
}

const testUID, testGID = 1234, 1235

func newFixture(t *testing.T) *fixture {
	t.Helper()
	base := t.TempDir()
	f := &fixture{
		dir:  filepath.Join(base, "data"),
		home: filepath.Join(base, "home", "user"),
		uid:  uint32(os.Getuid()),
		gid:  uint32(os.Getgid()),
	}
	for _, d := range []string{f.dir, f.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if f.uid == 0 {
		f.uid, f.gid = testUID, testGID
		if err := os.Chown(f.home, testUID, testGID); err != nil {
			t.Fatal(err)
		}
	}
	f.files = users.Files{Passwd: filepath.Join(base, "passwd"), Group: filepath.Join(base, "group")}
	write(t, f.files.Passwd, fmt.Sprintf("root:x:0:0:root:/root:/bin/bash\nuser:x:%d:%d::%s:/bin/bash\n", f.uid, f.gid, f.home))
	write(t, f.files.Group, fmt.Sprintf("root:x:0:\nusers:x:%d:user\n", f.gid))

	f.svc = NewService(state.New(nil, f.files), f.files, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	mux.Handle(f.svc.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		_ = f.svc.Close()
	})
	f.client = filesystemconnect.NewFilesystemClient(srv.Client(), srv.URL)
	f.json = filesystemconnect.NewFilesystemClient(srv.Client(), srv.URL, connect.WithProtoJSON())
	return f
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

// as is a request made for user, as the SDKs send it.
func as[T any](user string, msg *T) *connect.Request[T] {
	req := connect.NewRequest(msg)
	req.Header().Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":")))
	return req
}

// ownerOf returns the uid and gid of path.
func ownerOf(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}

func wantCode(t *testing.T, what string, err error, want connect.Code) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %v", what, want)
		return
	}
	if got := connect.CodeOf(err); got != want {
		t.Errorf("%s: code %v (%v), want %v", what, got, err, want)
	}
}

func TestUnknownUser(t *testing.T) {
	f := newFixture(t)
	_, err := f.client.Stat(context.Background(), as("nobody-here", &pb.StatRequest{Path: "/"}))
	wantCode(t, "stat as an unknown user", err, connect.CodeInvalidArgument)
}

func TestConnectError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want connect.Code
	}{
		{fsError(&os.PathError{Op: "lstat", Path: "/x", Err: syscall.ENOENT}), connect.CodeNotFound},
		{fsError(&os.PathError{Op: "lstat", Path: "/f/x", Err: syscall.ENOTDIR}), connect.CodeNotFound},
		{fsError(&os.LinkError{Op: "rename", Old: "/a", New: "/b", Err: syscall.ENOTEMPTY}), connect.CodeAlreadyExists},
		{fsError(&os.PathError{Op: "mkdir", Path: "/x", Err: syscall.EEXIST}), connect.CodeAlreadyExists},
		{fsError(&os.PathError{Op: "stat", Path: "/x", Err: syscall.ELOOP}), connect.CodeInvalidArgument},
		{fsError(&os.LinkError{Op: "rename", Old: "/a", New: "/b", Err: syscall.EXDEV}), connect.CodeFailedPrecondition},
		{fsError(&os.PathError{Op: "mkdir", Path: "/x", Err: syscall.ENOSPC}), connect.CodeResourceExhausted},
		{fsError(&os.PathError{Op: "mkdir", Path: "/x", Err: syscall.EACCES}), connect.CodePermissionDenied},
		{fsError(&os.PathError{Op: "read", Path: "/x", Err: syscall.EIO}), connect.CodeInternal},
		{fsError(errors.New("odd")), connect.CodeInternal},
		{watchError(fsnotify.ErrEventOverflow), connect.CodeResourceExhausted},
		{fmt.Errorf("x: %w", errdefs.ErrNotFound), connect.CodeNotFound},
		{connect.NewError(connect.CodeUnavailable, errors.New("x")), connect.CodeUnavailable},
	} {
		if got := connect.CodeOf(connectError(tc.err)); got != tc.want {
			t.Errorf("%v: code %v, want %v", tc.err, got, tc.want)
		}
	}
	// The message is the cause's own.
	err := fsError(&os.PathError{Op: "lstat", Path: "/x", Err: syscall.ENOENT})
	if err.Error() != "lstat /x: no such file or directory" {
		t.Errorf("message %q", err)
	}
}

func TestKeepaliveInterval(t *testing.T) {
	h := http.Header{}
	if got := keepaliveInterval(h, time.Second); got != time.Second {
		t.Errorf("default: %v", got)
	}
	h.Set("Keepalive-Ping-Interval", "50")
	if got := keepaliveInterval(h, time.Second); got != 50*time.Second {
		t.Errorf("header 50: %v", got)
	}
	h.Set("Keepalive-Ping-Interval", "-1")
	if got := keepaliveInterval(h, time.Second); got != time.Second {
		t.Errorf("header -1: %v", got)
	}
}
