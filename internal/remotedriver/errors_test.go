package remotedriver_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// A node refusing or failing a call is the node's trouble: the API user
// gets ErrUnavailable naming the node, never the node's auth codes or a
// 500. The sandbox's own categories still come through.
func TestNodeCallErrorsAreUnavailable(t *testing.T) {
	h := newHost()
	d := startNode(t, h)
	for _, cause := range []error{errdefs.ErrPermissionDenied, errdefs.ErrUnauthenticated, errors.New("disk on fire")} {
		h.execOut = nil
		h.execErr = fmt.Errorf("on the node: %w", cause)
		_, err := d.Exec(context.Background(), "sb", runtime.ExecRequest{Args: []string{"x"}})
		if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "node-t1") || errdefs.HTTPStatus(err) == 500 {
			t.Errorf("node error %v came as %v (%d); want unavailable naming the node", cause, err, errdefs.HTTPStatus(err))
		}
	}
	if _, err := d.Info(context.Background(), "missing"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("a missing sandbox: %v; want not found", err)
	}
}
