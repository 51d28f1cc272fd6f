package objstore

import (
	"context"
	"log/slog"
	"time"

	"github.com/soulbox/soulbox/internal/layer"
)

// Layers keeps a host's template layers in object storage, as the
// layer store's remote (layer.Remote): each layer as an archive blob,
// named by the archive's own digest. The host that pushed a layer
// records that digest (layer.Store.Blob) and names it to the hosts that
// fetch it; the ref "layers/<layer digest>" also ties the two, for the
// control planes that share the bucket (which write it themselves): a
// node never trusts a ref, which anyone with the bucket's credentials
// could rewrite.
type Layers struct {
	Store *Store
	// TmpDir holds archives on their way, on the layers' filesystem.
	TmpDir string
	Log    *slog.Logger
}

// Push implements layer.Remote: it uploads the layer unless the object
// storage has it, and logs what it did.
func (l Layers) Push(ctx context.Context, digest, dir string) (layer.Blob, error) {
	start := time.Now()
	ref, sent, err := l.Store.UploadDir(ctx, dir, l.TmpDir)
	if err == nil {
		err = l.Store.PutRef(ctx, "layers/"+digest, ref)
	}
	if err != nil {
		l.Log.Warn("upload a layer to object storage; other hosts cannot fetch it", slog.String("layer", digest), slog.Any("error", err))
		return layer.Blob{}, err
	}
	l.Log.Info("layer uploaded to object storage", slog.String("layer", digest), slog.String("blob", ref.Digest),
		slog.Int64("bytes", ref.Size), slog.Bool("sent", sent), slog.Duration("took", time.Since(start)))
	return layer.Blob{Digest: ref.Digest, Size: ref.Size}, nil
}

// Fetch implements layer.Remote.
func (l Layers) Fetch(ctx context.Context, digest string, want layer.Blob, into string) (layer.Blob, error) {
	start := time.Now()
	ref := Ref{Digest: want.Digest, Size: want.Size}
	if want.IsZero() {
		var err error
		if ref, err = l.Store.GetRef(ctx, "layers/"+digest); err != nil {
			return layer.Blob{}, err
		}
	}
	if err := l.Store.DownloadDirChecked(ctx, ref, into, l.TmpDir, layer.CheckFetchedEntry); err != nil {
		return layer.Blob{}, err
	}
	l.Log.Info("layer fetched from object storage", slog.String("layer", digest), slog.String("blob", ref.Digest),
		slog.Int64("bytes", ref.Size), slog.Duration("took", time.Since(start)))
	return layer.Blob{Digest: ref.Digest, Size: ref.Size}, nil
}
