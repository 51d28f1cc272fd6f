package oci

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// TestLayersNeedAResolver: a spec that names its template's layers is
// refused by a driver whose templates resolve by name only (it would
// otherwise start the template of that name, whatever the layers said),
// before anything of the sandbox exists.
func TestLayersNeedAResolver(t *testing.T) {
	d := newTestDriver(t, nil)
	_, err := d.Create(context.Background(), runtime.Spec{ID: "named1", Template: "base",
		Layers: []runtime.TemplateLayer{{Digest: "key-1"}}})
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "finds templates by name only") {
		t.Fatalf("Create = %v; want a precondition saying so", err)
	}
	if _, err := os.Stat(d.sandboxDir("named1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused create left its directory: %v", err)
	}
}
