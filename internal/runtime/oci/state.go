package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// sandboxState is what the driver records on disk about a sandbox, written
// before any resource is acquired so that a crash at any later point leaves
// enough to find and release everything.
type sandboxState struct {
	ID       string `json:"id"`
	Template string `json:"template"`
	Runtime  string `json:"runtime"`
	Slot     int    `json:"slot"`
	HostUID  uint32 `json:"hostUID"`
	Layers   int    `json:"layers"`
	// TemplateLayers are Spec.Layers as the sandbox was created with
	// them (a node's template other than its base one, which it cannot
	// find by name): its clones are made on the same layers.
	TemplateLayers []runtime.TemplateLayer `json:"templateLayers,omitempty"`
	Limits         runtime.Limits          `json:"limits"`
	CreatedAt      time.Time               `json:"createdAt"`
	// NoNewPrivileges is Spec.NoNewPrivileges, which Exec applies too.
	NoNewPrivileges bool `json:"noNewPrivileges,omitempty"`
	// Restored is set while the sandbox runs processes restored from a
	// checkpoint: a CRIU without the patch in scripts/criu cannot
	// checkpoint them again (dump_failed.go).
	Restored bool `json:"restored,omitempty"`
}

func (d *Driver) statePath(id string) string {
	return filepath.Join(d.sandboxDir(id), "state.json")
}

func (d *Driver) writeState(st sandboxState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	// The state is how a restarted driver finds the sandbox's resources:
	// it must be on disk, and its name in the directory, before the
	// resources exist.
	if err := durable.WriteFile(d.statePath(st.ID), b, 0o600); err != nil {
		return fmt.Errorf("write sandbox state: %w", err)
	}
	return nil
}

func (d *Driver) readState(id string) (sandboxState, error) {
	var st sandboxState
	b, err := os.ReadFile(d.statePath(id))
	if errors.Is(err, os.ErrNotExist) {
		return st, fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
	}
	if err != nil {
		return st, fmt.Errorf("sandbox %q: read state: %w", id, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("sandbox %q: corrupt state: %w", id, err)
	}
	return st, nil
}

// lockedState checks id, takes the sandbox's lock and reads its state
// and status: the start of every operation that acts on one sandbox
// according to its status. The caller runs unlock; on an error nothing
// is held.
func (d *Driver) lockedState(ctx context.Context, id string) (st sandboxState, status runtime.Status, unlock func(), err error) {
	if err := runtime.ValidateID(id); err != nil {
		return st, "", nil, err
	}
	unlock = d.lock(id)
	if st, err = d.readState(id); err == nil {
		status, _, err = d.status(ctx, st)
	}
	if err != nil {
		unlock()
		return st, "", nil, err
	}
	return st, status, unlock, nil
}
