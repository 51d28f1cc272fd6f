package nodebuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/scheduler"
)

// answerNode is a node's build service that answers every build with
// out, whatever it uploaded.
type answerNode struct{ out Outcome }

func (a answerNode) Build(context.Context, Request, builder.Log) (Outcome, error) { return a.out, nil }

// TestBuildLayersHeld: a node's answer is the build's result only when
// object storage holds each archive it names at the size it names; an
// archive never uploaded, or named with another size, fails the build
// at finalize as the node's fault (unavailable), so the catalog records
// no layer that no node could fetch.
func TestBuildLayersHeld(t *testing.T) {
	ctx := context.Background()
	objects, err := objstore.Open(ctx, s3test.Start(t, "soulbox").Config("soulbox"))
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("an archive the node uploaded")
	p := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	uploaded := "sha256:" + hex.EncodeToString(sum[:])
	if _, err := objects.PutBlob(ctx, uploaded, p, int64(len(content))); err != nil {
		t.Fatal(err)
	}
	const d = "key-1111111111111111111111111111111111111111111111111111111111111111"
	build := func(blob string, size int64) (builder.Result, error) {
		b := New(Config{
			Objects: objects,
			Place:   func(context.Context, scheduler.Request) (string, error) { return "n1", nil },
			Node: func(context.Context, string) (Runner, error) {
				return answerNode{Outcome{Layers: []runtime.TemplateLayer{{Digest: d, Blob: blob, Size: size}, {Base: "base/0123/rootfs"}}}}, nil
			},
		})
		return b.Build(ctx, builder.Request{ID: "b1", Base: builder.Base{Image: "alpine"}}, func(string, string, string) {})
	}
	res, err := build(uploaded, int64(len(content)))
	if err != nil || res.Blobs[d].Digest != uploaded {
		t.Fatalf("build whose archive is held = %+v, %v", res, err)
	}
	for name, c := range map[string]struct {
		blob string
		size int64
	}{
		"never uploaded": {"sha256:" + strings.Repeat("b", 64), 5},
		"another size":   {uploaded, int64(len(content)) + 1},
	} {
		_, err := build(c.blob, c.size)
		var se *builder.StepError
		if !errors.As(err, &se) || se.Step != "finalize" || !errors.Is(err, errdefs.ErrUnavailable) {
			t.Errorf("%s: build = %v, want failed at finalize, unavailable", name, err)
		}
	}
}
