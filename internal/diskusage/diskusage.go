// Package diskusage measures the disk space a directory tree takes, as
// `du` counts it: the blocks its files have allocated, not their lengths
// (a sparse file takes what it wrote). The one measure the paused-state
// budgets use, on the control plane's disk and on a node's.
package diskusage

import (
	"errors"
	"io/fs"
	"path/filepath"
	"syscall"
)

// Of is the space the files under root take on disk; a missing root
// takes none, and a file removed while it is walked is not counted.
func Of(root string) (int64, error) {
	var total int64
	err := filepath.WalkDir(root, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			if e == nil && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		info, err := e.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		}
		return nil
	})
	return total, err
}
