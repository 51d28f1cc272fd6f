package certs

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/soulbox/soulbox/internal/certs/certstest"
)

func TestACMEAgainstPebble(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs Pebble")
	}
	p := certstest.NewPebble(t)
	dir := t.TempDir()
	cfg := Config{Mode: ModeACME, ACMEDirectory: p.Directory, ACMEEmail: "ops@sb.test", ACMECAFile: p.TLSCert}
	names := Names{Domain: "sb.test", Sandbox: func(_ context.Context, id string) bool { return id == "live" }}
	tc, err := New(cfg, dir, names, discard())
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, tc)
	_, port, _ := net.SplitHostPort(addr)
	tlsPort, _ := strconv.Atoi(port)
	p.Start(t, tlsPort)
	for _, name := range []string{"api.sb.test", "sb.test", "8080-live.sb.test"} {
		leaf, err := handshake(addr, name, p.Roots)
		if err != nil {
			t.Fatalf("handshake for %q with Pebble's root trusted: %v", name, err)
		}
		if !slices.Equal(leaf.DNSNames, []string{name}) {
			t.Errorf("certificate for %q names %v", name, leaf.DNSNames)
		}
	}
	// A sandbox's ports get OrdersPerSandbox certificates in all (8080's
	// was the first); then the authority is asked for no more.
	for i := 1; i < OrdersPerSandbox; i++ {
		if _, err := handshake(addr, strconv.Itoa(8080+i)+"-live.sb.test", p.Roots); err != nil {
			t.Fatalf("order %d of a sandbox: %v", i+1, err)
		}
	}
	for _, name := range []string{"9999-live.sb.test", "08080-live.sb.test", "70000-live.sb.test", "0-live.sb.test"} {
		if _, err := handshake(addr, name, p.Roots); err == nil {
			t.Errorf("a certificate was issued for %q", name)
		}
	}
	for _, name := range []string{"8080-gone.sb.test", "example.com", "www.sb.test", ""} {
		if _, err := handshake(addr, name, p.Roots); err == nil {
			t.Errorf("a certificate was issued for %q, not a name the server may ask for", name)
		}
	}

	// The certificates are kept: with the authority gone, a restart
	// serves them from the data dir.
	p.Stop()
	tc2, err := New(cfg, dir, names, discard())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(serve(t, tc2), "8080-live.sb.test", p.Roots); err != nil {
		t.Errorf("after a restart with the authority down: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "acme")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("acme cache: %v, want a 0700 directory", err)
	}
}
