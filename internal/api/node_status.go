package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// NodeStatusSetter changes a node's status for POST /nodes/{nodeID}.
type NodeStatusSetter interface {
	SetStatus(ctx context.Context, id string, to store.NodeStatus) error
}

// nodeStatusChangeJSON is E2B's NodeStatusChange.
type nodeStatusChangeJSON struct {
	Status    *store.NodeStatus `json:"status"`
	ClusterID *string           `json:"clusterID"`
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// setNodeStatus is E2B's POST /nodes/{nodeID}: an admin drains a node
// (it takes no new sandboxes) or makes it ready again. 204 on success.
func (a *API) setNodeStatus(w http.ResponseWriter, r *http.Request) {
	if err := a.adminNodes(r); err != nil {
		a.writeError(w, r, err)
		return
	}
	if a.nodeStatus == nil {
		a.writeError(w, r, fmt.Errorf("this server cannot change node states: %w", errdefs.ErrUnavailable))
		return
	}
	var b nodeStatusChangeJSON
	if err := decodeStrictBody(r.Body, &b); err != nil {
		a.writeError(w, r, err)
		return
	}
	if b.Status == nil || (*b.Status != store.NodeReady && *b.Status != store.NodeDraining) {
		a.writeError(w, r, fmt.Errorf(`status: want "ready" or "draining": %w`, errdefs.ErrInvalidArgument))
		return
	}
	// SoulBox has one cluster; a clusterID is accepted (E2B's SDKs may
	// send one) when it is a UUID, and does not select anything.
	if b.ClusterID != nil && *b.ClusterID != "" && !uuidRE.MatchString(*b.ClusterID) {
		a.writeError(w, r, fmt.Errorf("clusterID %q: want a UUID: %w", *b.ClusterID, errdefs.ErrInvalidArgument))
		return
	}
	if err := a.nodeStatus.SetStatus(r.Context(), r.PathValue("nodeID"), *b.Status); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
