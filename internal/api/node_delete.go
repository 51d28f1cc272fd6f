package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// NodeDeleter removes a joined node for DELETE /nodes/{nodeID}.
type NodeDeleter interface {
	Delete(ctx context.Context, id string) error
}

// deleteNode is SoulBox's DELETE /nodes/{nodeID}: an admin removes a
// joined node, whose name may then join again with a new token. 204; the
// embedded node or a node with sandboxes is 409, an unknown one 404.
func (a *API) deleteNode(w http.ResponseWriter, r *http.Request) {
	if err := a.adminNodes(r); err != nil {
		a.writeError(w, r, err)
		return
	}
	if a.nodeDeleter == nil {
		a.writeError(w, r, fmt.Errorf("this server cannot delete nodes: %w", errdefs.ErrUnavailable))
		return
	}
	if err := a.nodeDeleter.Delete(r.Context(), r.PathValue("nodeID")); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
