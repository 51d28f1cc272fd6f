package nodeagent

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/soulbox/soulbox/internal/durable"
)

// controlPlanes is the list of control planes a joined node follows: the
// one it keeps in its identity, or the --control-plane given (flag), which
// replaces the kept one durably before it is used, so that a replica
// added on one start is still followed on the next. A bad flag is refused
// and changes nothing.
func controlPlanes(dataDir string, id *identity, flag string, log *slog.Logger) ([]string, error) {
	if flag == "" {
		return controlPlaneURLs(id.ControlPlane)
	}
	urls, err := controlPlaneURLs(flag)
	if err != nil {
		return nil, err
	}
	list := strings.Join(urls, ",")
	if list == id.ControlPlane {
		return urls, nil
	}
	b, _ := json.Marshal(identity{Name: id.Name, ControlPlane: list})
	if err := durable.WriteFile(filepath.Join(identityDir(dataDir), stateFile), b, 0o600); err != nil {
		return nil, fmt.Errorf("keep the new --control-plane list: %w", err)
	}
	log.Info("control planes changed", "control_plane", list, "was", id.ControlPlane)
	id.ControlPlane = list
	return urls, nil
}
