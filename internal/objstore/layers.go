package objstore

import (
	"context"
	"log/slog"
	"time"

	"github.com/soulbox/soulbox/internal/layer"
)

// Layers keeps a host's template layers in object storage, as the
// layer store's remote (layer.Remote): each layer as an archive blob,
// found by the ref "layers/<layer digest>". The blob's own digest is the
// archive's; the ref ties the two, so a layer named by what built it
// (a "key-" digest) is found too.
type Layers struct {
	Store *Store
	// TmpDir holds archives on their way, on the layers' filesystem.
	TmpDir string
	Log    *slog.Logger
}

// Push implements layer.Remote: it uploads the layer unless the object
// storage has it, and logs what it did.
func (l Layers) Push(ctx context.Context, digest, dir string) {
	start := time.Now()
	ref, sent, err := l.Store.UploadDir(ctx, dir, l.TmpDir)
	if err == nil {
		err = l.Store.PutRef(ctx, "layers/"+digest, ref)
	}
	if err != nil {
		l.Log.Warn("upload a layer to object storage; other hosts cannot fetch it", slog.String("layer", digest), slog.Any("error", err))
		return
	}
	l.Log.Info("layer uploaded to object storage", slog.String("layer", digest), slog.String("blob", ref.Digest),
		slog.Int64("bytes", ref.Size), slog.Bool("sent", sent), slog.Duration("took", time.Since(start)))
}

// Fetch implements layer.Remote.
func (l Layers) Fetch(ctx context.Context, digest, into string) error {
	start := time.Now()
	ref, err := l.Store.GetRef(ctx, "layers/"+digest)
	if err != nil {
		return err
	}
	if err := l.Store.DownloadDirChecked(ctx, ref, into, l.TmpDir, layer.CheckFetchedEntry); err != nil {
		return err
	}
	l.Log.Info("layer fetched from object storage", slog.String("layer", digest), slog.String("blob", ref.Digest),
		slog.Int64("bytes", ref.Size), slog.Duration("took", time.Since(start)))
	return nil
}
