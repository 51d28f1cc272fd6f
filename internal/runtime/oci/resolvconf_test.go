package oci

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// A template whose /etc (or resolv.conf) is a symlink to a host path
// cannot make the host write there.
func TestWriteResolvConfStaysInRoot(t *testing.T) {
	gw := netip.MustParseAddr("10.200.0.1")
	t.Run("etc a symlink to a host directory", func(t *testing.T) {
		host := t.TempDir()
		root := t.TempDir()
		if err := os.Symlink(host, filepath.Join(root, "etc")); err != nil {
			t.Fatal(err)
		}
		// The same path inside the root, where the link leads in it.
		inside := filepath.Join(root, host)
		if err := os.MkdirAll(inside, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := writeResolvConf(root, gw); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(host, "resolv.conf")); err == nil {
			t.Fatal("resolv.conf written in the host directory /etc links to")
		}
		if b, err := os.ReadFile(filepath.Join(inside, "resolv.conf")); err != nil || string(b) != "nameserver 10.200.0.1\n" {
			t.Fatalf("in the root: %q, %v", b, err)
		}
	})
	t.Run("resolv.conf a symlink to a host file", func(t *testing.T) {
		host := filepath.Join(t.TempDir(), "victim")
		if err := os.WriteFile(host, []byte("host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		root := t.TempDir()
		if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(host, filepath.Join(root, "etc", "resolv.conf")); err != nil {
			t.Fatal(err)
		}
		if err := writeResolvConf(root, gw); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(host); string(b) != "host\n" {
			t.Fatalf("the host file became %q", b)
		}
		if b, err := os.ReadFile(filepath.Join(root, "etc", "resolv.conf")); err != nil || string(b) != "nameserver 10.200.0.1\n" {
			t.Fatalf("in the root: %q, %v", b, err)
		}
	})
}
