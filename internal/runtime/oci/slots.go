package oci

import (
	"fmt"
	"os"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// idRange is the number of uids and gids each sandbox gets.
const idRange = 65536

// loadSlots rebuilds the table of uid ranges in use from the sandboxes on
// disk, so that a restarted driver never hands out a range twice.
func (d *Driver) loadSlots() error {
	entries, err := os.ReadDir(d.sandboxesDir())
	if err != nil {
		return fmt.Errorf("list sandboxes: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range entries {
		st, err := d.readState(e.Name())
		if err != nil {
			continue // no state: Create failed before taking a slot
		}
		d.slots[st.Slot] = st.ID
	}
	return nil
}

// maxSlots is how many uid ranges fit above the base in 32 bits, less one
// range so that the overflow ids stay unmapped.
func (d *Driver) maxSlots() int {
	return int((uint64(1)<<32-uint64(d.uidBase))/idRange) - 1
}

// takeSlot reserves the lowest free uid range for id.
func (d *Driver) takeSlot(id string) (slot int, hostUID uint32, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for slot = 0; slot < d.maxSlots(); slot++ {
		if _, used := d.slots[slot]; !used {
			d.slots[slot] = id
			return slot, d.uidBase + uint32(slot)*idRange, nil
		}
	}
	return 0, 0, fmt.Errorf("no free uid range for sandbox %q: %w", id, errdefs.ErrResourceExhausted)
}

func (d *Driver) releaseSlot(slot int, id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.slots[slot] == id {
		delete(d.slots, slot)
	}
}
