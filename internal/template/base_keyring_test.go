package template

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/testutil"
)

func TestDebootstrapArgsVerifyWithKeyring(t *testing.T) {
	args := debootstrapArgs(baseRecipe("bookworm"), "/r", "http://mirror/debian", "/k.gpg")
	for _, want := range []string{"--keyring=/k.gpg", "--force-check-gpg"} {
		if !slices.Contains(args, want) {
			t.Errorf("debootstrap args %q lack %s", args, want)
		}
	}
	// Options come before the positional suite, target and mirror.
	if got := args[len(args)-3:]; !slices.Equal(got, []string{"bookworm", "/r", "http://mirror/debian"}) {
		t.Errorf("positional args = %q", got)
	}
}

// A build without the keyring is refused before anything is fetched.
func TestBuildRefusedWithoutKeyring(t *testing.T) {
	for name, keyring := range map[string]string{
		"missing": filepath.Join(t.TempDir(), "none.gpg"),
		"empty":   writeFile(t, "empty.gpg", ""),
		"dir":     t.TempDir(),
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("mirror asked for %s", r.URL.Path)
			}))
			defer srv.Close()
			s, err := New(t.TempDir(), Options{Mirror: srv.URL, Keyring: keyring})
			if err != nil {
				t.Fatal(err)
			}
			err = s.buildBase(t.Context(), filepath.Join(t.TempDir(), "rootfs"))
			if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "debian-archive-keyring") {
				t.Errorf("build error = %v; want a failed precondition naming debian-archive-keyring", err)
			}
		})
	}
}

// debootstrap refuses a mirror whose Release file is signed by a key that
// is not in the keyring, and accepts its signature with the right key. The
// mirror is local: its InRelease is signed by a key the test makes.
func TestDebootstrapChecksReleaseSignature(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresBinary(t, "debootstrap")
	testutil.RequiresBinary(t, "gpg")
	signer, signerRing := newGPGKey(t, "signer")
	_, strangerRing := newGPGKey(t, "stranger")

	release := "Origin: Debian\nSuite: stable\nCodename: bookworm\nArchitectures: amd64 arm64\nComponents: main\n"
	inRelease := gpgRun(t, signer, release, "--clearsign")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dists/bookworm/InRelease" {
			w.Write(inRelease)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()

	build := func(keyring string) (string, error) {
		var out bytes.Buffer
		s, err := New(t.TempDir(), Options{Mirror: srv.URL, Keyring: keyring, Progress: &out})
		if err != nil {
			t.Fatal(err)
		}
		err = s.buildBase(t.Context(), filepath.Join(t.TempDir(), "rootfs"))
		return out.String(), err
	}
	out, err := build(strangerRing)
	if err == nil || strings.Contains(out, "Valid Release signature") {
		t.Errorf("build with a keyring lacking the signer: err %v, output:\n%s", err, out)
	}
	if !strings.Contains(out, "Release signed by unknown key") && !strings.Contains(out, "Invalid Release signature") {
		t.Errorf("debootstrap did not refuse the signature:\n%s", out)
	}
	// With the signer's key the signature passes; the build then fails on
	// this mirror's missing package lists.
	out, err = build(signerRing)
	if err == nil || !strings.Contains(out, "Valid Release signature") {
		t.Errorf("build with the signer's keyring: err %v, output:\n%s", err, out)
	}
}

// newGPGKey makes a signing key in a home of its own and returns the home
// and a keyring file holding its public key.
func newGPGKey(t *testing.T, name string) (home, keyring string) {
	t.Helper()
	home = t.TempDir()
	gpgRun(t, home, "", "--passphrase", "", "--quick-gen-key", name+"@soulbox.test", "ed25519", "sign", "never")
	keyring = filepath.Join(t.TempDir(), name+".gpg")
	if err := os.WriteFile(keyring, gpgRun(t, home, "", "--export"), 0o644); err != nil {
		t.Fatal(err)
	}
	return home, keyring
}

func gpgRun(t *testing.T, home, stdin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("gpg", append([]string{"--homedir", home, "--batch", "--pinentry-mode", "loopback"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg %q: %v\n%s", args, err, stderr.String())
	}
	return out
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
