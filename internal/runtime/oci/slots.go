package oci

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// idRange is the number of uids and gids each sandbox gets.
const idRange = 65536

// slotDir holds one claim file per uid range in use on this host, by any
// driver, named after the range's first host uid: two servers, or tests
// beside a server, must never map two sandboxes to the same host uids.
// /run is emptied at boot, when no sandbox runs any more.
const slotDir = "/run/soulbox/uid-slots"

// A claim file holds "<driver root>\n<sandbox id>\n". It is the index; the
// truth is the owner's state.json, so a claim whose owner no longer
// records that slot (a crashed driver, a removed test root) is stale and
// may be taken over.

// loadSlots re-claims the ranges of this driver's sandboxes, for a driver
// that starts on the sandboxes of a previous run or after a reboot emptied
// the claims.
func (d *Driver) loadSlots() error {
	entries, err := os.ReadDir(d.sandboxesDir())
	if err != nil {
		return fmt.Errorf("list sandboxes: %w", err)
	}
	unlock, err := lockSlots()
	if err != nil {
		return err
	}
	defer unlock()
	for _, e := range entries {
		st, err := d.readState(e.Name())
		if err != nil {
			continue // no state: Create failed before taking a slot
		}
		if owner, ok := claimOwner(st.HostUID); ok && (owner.root != d.root || owner.id != st.ID) {
			d.log.Error("uid range claimed twice", "host_uid", st.HostUID, "sandbox.id", st.ID, "other_root", owner.root, "other_sandbox", owner.id)
			continue
		}
		if err := writeClaim(st.HostUID, d.root, st.ID); err != nil {
			return err
		}
	}
	d.dropStaleClaims()
	return nil
}

// dropStaleClaims removes this driver's claims whose sandbox directory is
// gone: a crash after a teardown removed the directory and before it
// released the claim leaves nothing else of the sandbox, so no later
// destroy would come for it. A create makes the directory before it
// claims, so a claim without one belongs to no sandbox, even one being
// made. Such a claim reads as free to takeSlot once claimGrace has
// passed; this keeps the claims an exact index. Called at the driver's
// start, with the claims locked.
func (d *Driver) dropStaleClaims() {
	entries, _ := os.ReadDir(slotDir)
	for _, e := range entries {
		n, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil {
			continue // the lock file
		}
		b, err := os.ReadFile(filepath.Join(slotDir, e.Name()))
		if err != nil {
			continue
		}
		c, ok := parseClaim(b)
		if !ok || c.root != d.root || runtime.ValidateID(c.id) != nil {
			continue // another driver's: it keeps its own
		}
		if _, err := os.Lstat(d.sandboxDir(c.id)); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Remove(filepath.Join(slotDir, e.Name())); err == nil {
			d.log.Info("dropped the uid range claim of a sandbox that is gone", "host_uid", n, "sandbox.id", c.id)
		}
	}
}

// maxSlots is how many uid ranges fit above the base in 32 bits, less one
// range so that the overflow ids stay unmapped.
func (d *Driver) maxSlots() int {
	return int((uint64(1)<<32-uint64(d.uidBase))/idRange) - 1
}

// takeSlot claims the lowest free uid range on the host for id.
func (d *Driver) takeSlot(id string) (slot int, hostUID uint32, err error) {
	unlock, err := lockSlots()
	if err != nil {
		return 0, 0, err
	}
	defer unlock()
	for slot = 0; slot < d.maxSlots(); slot++ {
		hostUID = d.uidBase + uint32(slot)*idRange
		if _, ok := claimOwner(hostUID); ok {
			continue
		}
		if err := writeClaim(hostUID, d.root, id); err != nil {
			return 0, 0, err
		}
		return slot, hostUID, nil
	}
	return 0, 0, fmt.Errorf("no free uid range for sandbox %q: %w", id, errdefs.ErrResourceExhausted)
}

// releaseSlot drops id's claim on slot, if it still holds it.
func (d *Driver) releaseSlot(slot int, id string) {
	hostUID := d.uidBase + uint32(slot)*idRange
	unlock, err := lockSlots()
	if err != nil {
		d.log.Error("release uid range", "slot", slot, "err", err)
		return
	}
	defer unlock()
	if b, err := os.ReadFile(claimPath(hostUID)); err == nil && bytes.Equal(b, claimContent(d.root, id)) {
		_ = os.Remove(claimPath(hostUID))
	}
}

// releaseClaims drops every claim held for this driver's id.
func (d *Driver) releaseClaims(id string) {
	for {
		first, ok := d.holdsSlot(id)
		if !ok {
			return
		}
		d.releaseSlot(int((uint32(first)-d.uidBase)/idRange), id)
		if again, ok := d.holdsSlot(id); ok && again == first {
			d.log.Error("release uid range: claim stays", "host_uid", first, "sandbox.id", id)
			return
		}
	}
}

// holdsSlot reports which range (by its first host uid), if any, is
// claimed for this driver's id.
func (d *Driver) holdsSlot(id string) (int, bool) {
	entries, _ := os.ReadDir(slotDir)
	want := claimContent(d.root, id)
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(slotDir, e.Name())); err == nil && bytes.Equal(b, want) {
			if n, err := strconv.Atoi(e.Name()); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}

type claim struct{ root, id string }

// claimOwner returns the live owner of the range starting at hostUID; a
// stale claim reads as free.
func claimOwner(hostUID uint32) (claim, bool) {
	b, err := os.ReadFile(claimPath(hostUID))
	if err != nil {
		return claim{}, false
	}
	c, ok := parseClaim(b)
	if !ok {
		return claim{}, false
	}
	owner := &Driver{root: c.root}
	st, err := owner.readState(c.id)
	if err != nil && !errdefs.IsNotFound(err) {
		return c, true // unreadable, not absent: keep out of its way
	}
	if err != nil || st.HostUID != hostUID {
		// The state is written after the claim: a claim younger than a
		// moment may belong to a create still on its way.
		if fi, err := os.Stat(claimPath(hostUID)); err == nil && timeSince(fi.ModTime()) < claimGrace {
			return c, true
		}
		return claim{}, false
	}
	return c, true
}

// parseClaim reads a claim file's content.
func parseClaim(b []byte) (claim, bool) {
	parts := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	if len(parts) != 2 {
		return claim{}, false
	}
	return claim{root: string(parts[0]), id: string(parts[1])}, true
}

func claimPath(hostUID uint32) string {
	return filepath.Join(slotDir, strconv.FormatUint(uint64(hostUID), 10))
}

func claimContent(root, id string) []byte { return []byte(root + "\n" + id + "\n") }

func writeClaim(hostUID uint32, root, id string) error {
	if err := os.WriteFile(claimPath(hostUID), claimContent(root, id), 0o600); err != nil {
		return fmt.Errorf("claim uid range: %w", err)
	}
	return nil
}

// lockSlots takes the host-wide lock on the claims.
func lockSlots() (unlock func(), err error) {
	if err := os.MkdirAll(slotDir, 0o700); err != nil {
		return nil, fmt.Errorf("uid range claims: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(slotDir, ".lock"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("uid range claims: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock uid range claims: %w", err)
	}
	return func() { f.Close() }, nil
}
