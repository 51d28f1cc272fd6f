package oci

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
)

func TestCheckpointMetaValidate(t *testing.T) {
	good := checkpointMeta{Sandbox: "sb1", Runtime: "runc", External: []externalFile{
		{Key: "file[1a:2b3]", Path: "/var/lib/soulbox/sandboxes/sb1/agent.log", Flags: unix.O_WRONLY | unix.O_APPEND},
	}}
	if err := good.validate("sb1", "runc"); err != nil {
		t.Fatalf("a checkpoint's own description: %v", err)
	}
	for name, tamper := range map[string]func(*checkpointMeta){
		"other sandbox":       func(m *checkpointMeta) { m.Sandbox = "sb2" },
		"other runtime":       func(m *checkpointMeta) { m.Runtime = "runsc" },
		"newline in key":      func(m *checkpointMeta) { m.External[0].Key = "file[1a:2b3]\naction-script /tmp/x" },
		"key of another kind": func(m *checkpointMeta) { m.External[0].Key = "mnt[/]:x" },
		"relative path":       func(m *checkpointMeta) { m.External[0].Path = "agent.log" },
		"unclean path":        func(m *checkpointMeta) { m.External[0].Path = "/var/lib/soulbox/sandboxes/sb1/../x" },
		"newline in path":     func(m *checkpointMeta) { m.External[0].Path = "/var/lib/soulbox/sandboxes/sb1/a\nb" },
		"creating flags":      func(m *checkpointMeta) { m.External[0].Flags |= unix.O_CREAT | unix.O_TRUNC },
	} {
		t.Run(name, func(t *testing.T) {
			m := good
			m.External = append([]externalFile(nil), good.External...)
			tamper(&m)
			if err := m.validate("sb1", "runc"); !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("validate = %v, want invalid argument", err)
			}
		})
	}
}

// A checkpoint.json whose key carries a line break is refused with a
// clear error before anything reaches CRIU's configuration (where the
// line would be an option of its own, here a host script run as root);
// the sandbox stays restorable from its true description.
func TestRestoreRefusesTamperedDescription(t *testing.T) {
	d := newTestDriver(t, nil)
	ctx := context.Background()
	id := "ckpttamper1"
	startCheckpointable(t, d, id)
	dir := filepath.Join(t.TempDir(), "c")
	if err := d.Checkpoint(ctx, id, dir); err != nil {
		t.Fatal(err)
	}
	metaPath := filepath.Join(dir, checkpointMetaFile)
	orig, err := os.ReadFile(metaPath)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := readCheckpoint(dir)
	if err != nil || len(meta.External) == 0 {
		t.Fatalf("checkpoint description: %+v, %v; want the agent's files", meta, err)
	}
	marker := filepath.Join(t.TempDir(), "ran")
	script := filepath.Join(t.TempDir(), "inject.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	meta.External[0].Key += "\naction-script " + script
	b, _ := json.Marshal(meta)
	if err := os.WriteFile(metaPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	err = d.Restore(ctx, id, dir)
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "key") {
		t.Errorf("restore from a tampered description: %v; want invalid argument naming the key", err)
	}
	if _, serr := os.Stat(marker); serr == nil {
		t.Fatal("the script injected through checkpoint.json ran")
	}
	if err := os.WriteFile(metaPath, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Restore(ctx, id, dir); err != nil {
		t.Fatalf("restore from the true description after a refused one: %v", err)
	}
	if got := counterGet(t, d, id, 0); got != "2" {
		t.Errorf("GET after restore = %q, want 2", got)
	}
}
