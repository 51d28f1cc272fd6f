package nodebuild

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/runtime"
)

// TestOutcomeResult: a node's answer becomes the builder's result only
// when every layer is a layer digest with a valid archive or a base
// template place; anything else is refused as the node's fault
// (unavailable), so no path or planted name reaches the catalog.
func TestOutcomeResult(t *testing.T) {
	const d = "key-1111111111111111111111111111111111111111111111111111111111111111"
	blob := "sha256:" + strings.Repeat("a", 64)
	good := Outcome{Layers: []runtime.TemplateLayer{{Digest: d, Blob: blob, Size: 7}, {Base: "base/0123/rootfs"}}, Size: 9,
		Settings: builder.Settings{User: "user"}}
	res, err := good.result("n1")
	if err != nil || !slices.Equal(res.Layers, []string{d, "base/0123/rootfs"}) || res.Blobs[d] != (layer.Blob{Digest: blob, Size: 7}) ||
		res.Size != 9 || res.Settings.User != "user" {
		t.Fatalf("result of a good answer = %+v, %v", res, err)
	}
	for name, ls := range map[string][]runtime.TemplateLayer{
		"none":             nil,
		"not a digest":     {{Digest: "../etc", Blob: blob, Size: 1}},
		"no archive":       {{Digest: d}},
		"bad archive":      {{Digest: d, Blob: "sha256:zz", Size: 1}},
		"both":             {{Digest: d, Blob: blob, Size: 1, Base: "base/0123/rootfs"}},
		"absolute base":    {{Base: "/var/lib/soulbox/templates/base/0123/rootfs"}},
		"base escaping":    {{Base: "base/../../etc"}},
		"not base's place": {{Base: "other/0123/rootfs"}},
	} {
		_, err := Outcome{Layers: ls}.result("n1")
		if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "node n1") {
			t.Errorf("%s: result = %v, want the node's answer refused", name, err)
		}
	}
}

// TestFailureRoundTrip: a step's failure on the node reads the same on
// the control plane: its step, exit code, last lines and message.
func TestFailureRoundTrip(t *testing.T) {
	err := failureOf(&builder.StepError{Step: "2", ExitCode: 3, Tail: []string{"oops"}, Err: errors.New("exit status 3")}).err()
	var se *builder.StepError
	if !errors.As(err, &se) || se.Step != "2" || se.ExitCode != 3 || err.Error() != "step 2 failed: command exited with code 3: oops" {
		t.Errorf("failure after the wire = %#v (%v)", se, err)
	}
}
