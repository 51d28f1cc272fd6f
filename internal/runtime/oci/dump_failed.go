package oci

import (
	"fmt"
	"os"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// criuUserNSRefusal is what CRIU logs when its check that the sandbox's
// user namespace owns its other namespaces cannot open them. Unpatched,
// CRIU opens them from inside that user namespace, which a restored
// agent (non-dumpable, its memory owned by the host's user namespace)
// refuses; scripts/criu has the patch that opens them first.
const criuUserNSRefusal = "doesn't belong to the target user namespace"

// dumpFailed is the error of a dump CRIU refused, with CRIU's own words
// from its log: unavailable, or a failed precondition when the sandbox
// was restored before and the host's CRIU lacks the patch that lets it be
// checkpointed again (the sandbox runs on; a caller may keep its files
// instead).
func (d *Driver) dumpFailed(st sandboxState, err error, log string) error {
	words := criuErrors(log, 3)
	if st.Restored {
		if b, _ := os.ReadFile(log); strings.Contains(string(b), criuUserNSRefusal) {
			return fmt.Errorf("sandbox %q was restored from a checkpoint, and this host's CRIU cannot checkpoint it again "+
				"(it lacks the patch scripts/setup.sh builds it with): %w (CRIU: %s): %w", st.ID, err, words, errdefs.ErrFailedPrecondition)
		}
	}
	return fmt.Errorf("sandbox %q: %w (CRIU: %s): %w", st.ID, err, words, errdefs.ErrUnavailable)
}
