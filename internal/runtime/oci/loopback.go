package oci

import (
	"fmt"
	"os"
	"path/filepath"
)

// loopbackScript is a CRIU action script that brings up the loopback of
// the network namespace CRIU has just made for a restore. CRIU saves a
// sandbox's own network namespace with its sockets but recreates its
// loopback down, and it runs the script once the namespaces exist and
// before it puts the sockets back: an established connection over
// loopback can only be restored onto a loopback that is up, and a
// listening socket is of use only if something can reach it.
const loopbackScript = `#!/bin/sh
[ "$CRTOOLS_SCRIPT_ACTION" = setup-namespaces ] || exit 0
exec nsenter --target "$CRTOOLS_INIT_PID" --net ip link set lo up
`

// writeLoopbackScript writes loopbackScript into the sandbox's directory
// and returns its path.
func (d *Driver) writeLoopbackScript(id string) (string, error) {
	path := filepath.Join(d.sandboxDir(id), "criu-loopback.sh")
	if err := os.WriteFile(path, []byte(loopbackScript), 0o700); err != nil {
		return "", fmt.Errorf("write CRIU action script: %w", err)
	}
	return path, nil
}
