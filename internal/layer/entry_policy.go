package layer

import (
	"archive/tar"
	"fmt"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// CheckFetchedEntry says whether an entry of a layer's archive fetched
// from another host (object storage) may be unpacked here: only what
// SoulBox's own layers hold. A device node other than overlayfs's 0:0
// whiteout, and an extended attribute other than overlayfs's
// (trusted.overlay.*, user.overlay.*) or a file capability
// (security.capability), is refused: whoever can write to the bucket
// must not be able to give a sandbox a host device or an xattr of another
// namespace (security labels, trusted.* of other subsystems).
func CheckFetchedEntry(h *tar.Header) error {
	switch h.Typeflag {
	case tar.TypeBlock:
		return fmt.Errorf("fetched layer entry %q is a block device: refused: %w", h.Name, errdefs.ErrFailedPrecondition)
	case tar.TypeChar:
		if h.Devmajor != 0 || h.Devminor != 0 {
			return fmt.Errorf("fetched layer entry %q is device %d:%d, not a 0:0 whiteout: refused: %w", h.Name, h.Devmajor, h.Devminor, errdefs.ErrFailedPrecondition)
		}
	}
	for k := range h.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok {
			continue
		}
		if !strings.HasPrefix(name, "trusted.overlay.") && !strings.HasPrefix(name, "user.overlay.") && name != "security.capability" {
			return fmt.Errorf("fetched layer entry %q carries extended attribute %q: refused: %w", h.Name, name, errdefs.ErrFailedPrecondition)
		}
	}
	return nil
}
