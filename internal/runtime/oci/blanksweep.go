package oci

import (
	"os"
	"path/filepath"
	"strings"
)

// sweepBlankDisks removes from blankDir what no create will use: the
// temporary files of formats a crash interrupted (".blank-*"), and the
// blank images of other format versions, which would otherwise take disk
// space for ever and count against maxBlankDisks. It runs when the
// driver starts, before any create can be formatting one.
func (d *Driver) sweepBlankDisks() {
	entries, err := os.ReadDir(d.blankDir())
	if err != nil {
		return // none yet
	}
	current := "blank-v" + blankDiskVersion + "-"
	for _, e := range entries {
		name := e.Name()
		stale := strings.HasPrefix(name, ".blank-") ||
			(strings.HasPrefix(name, "blank-") && !strings.HasPrefix(name, current))
		if !stale {
			continue
		}
		if err := os.Remove(filepath.Join(d.blankDir(), name)); err != nil && !os.IsNotExist(err) {
			d.log.Warn("remove a stale blank disk image", "path", filepath.Join(d.blankDir(), name), "error", err)
		}
	}
}
