package nodeagent

import (
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeca"
)

// TestControlPlaneListKept: --control-plane on a later start replaces the
// list the node joined with, durably: the start after, without the flag,
// follows the new list; a bad list is refused and keeps the old one.
func TestControlPlaneListKept(t *testing.T) {
	ca, err := nodeca.Open(filepath.Join(t.TempDir(), "ca"))
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	id := joinedIdentity(t, ca, dataDir, "node-l")
	log := slog.New(slog.DiscardHandler)
	if got, err := controlPlanes(dataDir, id, "https://cp1:3443, https://cp2:3443/", log); err != nil || len(got) != 2 {
		t.Fatalf("a new list: %v, %v", got, err)
	}
	again, err := loadIdentity(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := controlPlanes(dataDir, again, "", log); err != nil || len(got) != 2 || got[0] != "https://cp1:3443" || got[1] != "https://cp2:3443" {
		t.Errorf("the next start without --control-plane follows %v, %v; want the new list", got, err)
	}
	if _, err := controlPlanes(dataDir, again, "http://cp3:3443", log); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("a bad list: %v, want invalid argument", err)
	}
	if kept, err := loadIdentity(dataDir); err != nil || kept.ControlPlane != "https://cp1:3443,https://cp2:3443" || kept.Name != "node-l" {
		t.Errorf("identity after a refused list: %+v, %v; want the list before kept", kept, err)
	}
}
