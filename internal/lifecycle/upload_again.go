package lifecycle

import (
	"context"
	"os"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// uploadAgain starts again, when the server starts, the upload of each
// paused sandbox whose pause is uploaded (checkpoint_objects.go,
// move_node.go) but is not recorded in object storage: one a shutdown
// cut short, or one that failed. Without it such a sandbox stayed on
// its node's disk only until its next pause. A sandbox of the embedded
// node is uploaded when its checkpoint is on disk (a pause with its
// memory); a joined node's, when the node can upload (NodeMover): an
// unreachable node makes it fail, logged, as at pause time. Replicas
// start none: several would upload one sandbox at once.
func (m *Manager) uploadAgain(ctx context.Context, live []store.Sandbox) {
	if m.objects == nil || m.replica {
		return
	}
	for _, sb := range live {
		if sb.State != store.StatePaused {
			continue
		}
		if sb.Node == "" {
			if m.checkpoints == "" {
				continue
			}
			if _, err := os.Stat(m.checkpointDir(sb.ID)); err != nil {
				continue // paused without its memory: nothing to upload
			}
		} else if !m.movable() {
			continue
		}
		_, err := m.store.CheckpointObject(ctx, sb.ID)
		if !errdefs.IsNotFound(err) {
			if err != nil {
				m.log.Warn("read the record of a paused sandbox in object storage", logx.Sandbox(sb.ID), logx.Err(err))
			}
			continue
		}
		m.log.Info("uploading a paused sandbox to object storage again", logx.Sandbox(sb.ID))
		m.startUpload(sb.ID, sb.Node)
	}
}
