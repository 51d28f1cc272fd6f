// Package imagetest serves OCI images to tests from a registry running in
// the test process (go-containerregistry's pkg/registry on 127.0.0.1), with
// images built from the files of the base template, so that no test pulls
// from outside the machine.
package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Serve starts a registry, stopped when t ends, and returns its host:port.
func Serve(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Entry is one file of a layer built by hand.
type Entry struct {
	Name, Link, Body string
	Type             byte
	Mode             int64
	UID, GID         int
}

// Layer makes an uncompressed layer archive of entries.
func Layer(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if e.Mode == 0 {
			e.Mode = 0o644
			if e.Type == tar.TypeDir {
				e.Mode = 0o755
			}
		}
		hdr := &tar.Header{Name: e.Name, Linkname: e.Link, Typeflag: e.Type, Mode: e.Mode, Uid: e.UID, Gid: e.GID,
			ModTime: time.Unix(1700000000, 0)}
		if e.Type == tar.TypeReg {
			hdr.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.Body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tinyFiles are what the tiny image takes from the base template: a shell,
// a few tools and the libraries they load.
var tinyFiles = []string{
	"usr/bin/dash", "usr/bin/bash", "usr/bin/cat", "usr/bin/ls", "usr/bin/mkdir", "usr/bin/id",
	"usr/bin/touch", "usr/bin/rm", "usr/bin/sleep", "usr/bin/env", "usr/bin/ln", "usr/bin/stat",
	"usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "usr/lib/x86_64-linux-gnu/libc.so.6",
	"usr/lib/x86_64-linux-gnu/libpcre2-8.so.0", "usr/lib/x86_64-linux-gnu/libselinux.so.1",
	"usr/lib/x86_64-linux-gnu/libtinfo.so.6",
}

// TinyLayer makes a busybox-sized root filesystem from the files of the
// base template at baseRootfs: sh, bash and a few coreutils, with only
// root in /etc/passwd (no user "user", as in most images).
func TinyLayer(t testing.TB, baseRootfs string) []byte {
	t.Helper()
	e := []Entry{
		{Name: "usr/", Type: tar.TypeDir}, {Name: "usr/bin/", Type: tar.TypeDir}, {Name: "usr/lib/", Type: tar.TypeDir},
		{Name: "usr/lib/x86_64-linux-gnu/", Type: tar.TypeDir}, {Name: "usr/lib64/", Type: tar.TypeDir},
		{Name: "bin", Type: tar.TypeSymlink, Link: "usr/bin"}, {Name: "lib", Type: tar.TypeSymlink, Link: "usr/lib"},
		{Name: "lib64", Type: tar.TypeSymlink, Link: "usr/lib64"}, {Name: "sbin", Type: tar.TypeSymlink, Link: "usr/bin"},
		{Name: "usr/lib64/ld-linux-x86-64.so.2", Type: tar.TypeSymlink, Link: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"},
		{Name: "usr/bin/sh", Type: tar.TypeSymlink, Link: "dash"},
		{Name: "etc/", Type: tar.TypeDir},
		{Name: "etc/passwd", Type: tar.TypeReg, Body: "root:x:0:0:root:/root:/bin/sh\n"},
		{Name: "etc/group", Type: tar.TypeReg, Body: "root:x:0:\n"},
		{Name: "root/", Type: tar.TypeDir, Mode: 0o700}, {Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
		{Name: "proc/", Type: tar.TypeDir}, {Name: "dev/", Type: tar.TypeDir}, {Name: "sys/", Type: tar.TypeDir},
	}
	for _, f := range tinyFiles {
		b, err := os.ReadFile(filepath.Join(baseRootfs, f))
		if err != nil {
			t.Fatalf("tiny image: %v", err)
		}
		e = append(e, Entry{Name: f, Type: tar.TypeReg, Body: string(b), Mode: 0o755})
	}
	return Layer(t, e...)
}

// Push stores an image of layers (bottom first) with env as repo:tag in
// the registry at host, and returns its reference.
func Push(t testing.TB, host, repoTag string, env []string, layers ...[]byte) string {
	t.Helper()
	img := empty.Image
	for _, l := range layers {
		b := l
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Env = env
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	return ref.String()
}

// ServeWithAuth starts a registry that wants HTTP basic credentials user
// and password for every request, and returns its host:port.
func ServeWithAuth(t testing.TB, user, password string) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// PushWithAuth is Push to a registry that wants credentials.
func PushWithAuth(t testing.TB, host, user, password, repoTag string, layers ...[]byte) string {
	t.Helper()
	img := empty.Image
	for _, l := range layers {
		b := l
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := name.ParseReference(host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: password})); err != nil {
		t.Fatal(err)
	}
	return ref.String()
}

// DiffID is the diff id of an uncompressed layer archive: its SHA-256.
func DiffID(layer []byte) v1.Hash {
	h, _, err := v1.SHA256(bytes.NewReader(layer))
	if err != nil {
		panic(err)
	}
	return h
}

// PushForged stores, as repo:tag, an image of one layer whose
// configuration claims diff id claimed for it instead of the layer's own:
// what an image planting its files under another image's layer would send.
func PushForged(t testing.TB, host, repoTag string, claimed v1.Hash, layer []byte) string {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.RootFS.DiffIDs = []v1.Hash{claimed}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	return ref.String()
}
