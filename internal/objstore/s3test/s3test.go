// Package s3test starts a throwaway S3-compatible server for tests:
// versitygw (scripts/setup.sh builds it from the Go module proxy) with its
// posix backend in a temporary directory, listening on a free port of
// 127.0.0.1, stopped and removed when the test ends. Without versitygw a
// test skips, except under CI=true, where it fails: CI must never pass by
// not testing the object storage.
package s3test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/objstore"
)

// The credentials of every test server.
const (
	AccessKey = "soulbox-test"
	SecretKey = "soulbox-test-secret"
)

// Server is a running S3-compatible server of one test.
type Server struct {
	// Endpoint is its URL.
	Endpoint string
	// Root is the posix backend's directory: each bucket a directory,
	// each object a file below it, so a test can corrupt one.
	Root string

	stop func()
}

// Stop stops the server before the test ends, for tests of an object
// storage that has gone away.
func (s *Server) Stop() { s.stop() }

// Binary finds versitygw: $SOULBOX_VERSITYGW, or on PATH.
func Binary() (string, error) {
	if p := os.Getenv("SOULBOX_VERSITYGW"); p != "" {
		return p, nil
	}
	return exec.LookPath("versitygw")
}

// Start starts a server for t with one bucket, named bucket, and stops it
// when t ends.
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("versitygw is required in CI (scripts/setup.sh builds it): %v", err)
		}
		t.Skipf("versitygw not installed (scripts/setup.sh builds it): %v", err)
	}
	root := t.TempDir()
	if bucket != "" {
		// The posix backend's buckets are its top directories.
		if err := os.Mkdir(filepath.Join(root, bucket), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var out bytes.Buffer
	cmd := exec.Command(bin, "--access", AccessKey, "--secret", SecretKey, "--port", addr, "posix", root)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Kill()
			<-exited
		})
	}
	t.Cleanup(stop)
	s := &Server{Endpoint: "http://" + addr, Root: root, stop: stop}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("versitygw exited: %v\n%s", err, out.String())
		default:
		}
		if resp, err := http.Get(s.Endpoint + "/"); err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not answer on %s within 30 s\n%s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Config is the object storage configuration for bucket on s.
func (s *Server) Config(bucket string) objstore.Config {
	return objstore.Config{Endpoint: s.Endpoint, Bucket: bucket, Region: "us-east-1", AccessKey: AccessKey, SecretKey: SecretKey}
}

// BlobPath is the file holding blob digest in bucket.
func (s *Server) BlobPath(bucket, digest string) string {
	return filepath.Join(s.Root, bucket, "blobs", "sha256", digest[len("sha256:"):])
}

// String names the server in failures.
func (s *Server) String() string { return fmt.Sprintf("versitygw at %s", s.Endpoint) }
