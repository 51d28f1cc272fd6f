package builder

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/zstd"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
)

// DefaultMaxLayerBytes bounds one image layer, uncompressed, when the
// configuration does not.
const DefaultMaxLayerBytes = 8 << 30

// installImageLayer unpacks one layer of image, pulled from repository
// repo, into the layer store under its diff id, and returns that id. The
// store is shared by every template of every team, so the diff id an
// image claims is not trusted: while the layer is unpacked, the
// compressed stream is hashed against the manifest's digest and the
// uncompressed one against the diff id, and the uncompressed bytes are
// counted against the node's limit (a small gzip can unpack to
// terabytes). Any mismatch or excess discards what was unpacked and fails
// with ErrInvalidArgument.
//
// A layer already in the store is reused without a download only when
// this repository's blob of the manifest's digest was verified to unpack
// to it before (an alias of the repository and the compressed digest),
// and the registry still serves that blob to this build's credentials: a
// diff id alone is no proof that the build may have the layer, and would
// let anyone who learns it mount another team's private layer. Otherwise
// the blob is downloaded and verified, without unpacking it again.
func (n *Node) installImageLayer(ctx context.Context, image, repo string, l v1.Layer, log Log) (string, error) {
	diff, err := l.DiffID()
	if err != nil {
		return "", n.pullError(ctx, image, "layer diff id", err)
	}
	sum, err := l.Digest()
	if err != nil {
		return "", n.pullError(ctx, image, "layer digest", err)
	}
	if diff.Algorithm != "sha256" || sum.Algorithm != "sha256" {
		return "", fmt.Errorf("image %q: layer %s (diff id %s): only sha256 digests are supported: %w", image, sum, diff, errdefs.ErrInvalidArgument)
	}
	id := "sha256-" + diff.Hex
	alias := sourceAlias(repo, sum)
	if n.layers.Has(id) {
		if known, ok := n.layers.Alias(alias); ok && known == id {
			exists, err := partial.Exists(l)
			if err != nil {
				return "", n.pullError(ctx, image, "layer "+sum.String(), err)
			}
			if !exists {
				return "", fmt.Errorf("image %q: the registry has no layer %s: %w", image, sum, errdefs.ErrInvalidArgument)
			}
			return id, nil
		}
		log("info", "base", "verifying layer "+diff.String())
		if err := n.verifyLayer(ctx, image, l, sum, diff, nil); err != nil {
			return "", err
		}
		return id, n.layers.SetAlias(alias, id)
	}
	log("info", "base", "unpacking layer "+diff.String())
	err = n.layers.Install(id, func(dir string) error {
		return n.verifyLayer(ctx, image, l, sum, diff, func(r io.Reader) error {
			if err := layer.Unpack(r, dir, layer.UnpackOptions{}); err != nil {
				return fmt.Errorf("image %q, layer %s: %w", image, diff, err)
			}
			return nil
		})
	})
	if err != nil {
		return "", err
	}
	return id, n.layers.SetAlias(alias, id)
}

// sourceAlias names the layer store's record that repository repo's blob
// sum unpacks to a verified layer.
func sourceAlias(repo string, sum v1.Hash) string {
	h := sha256.Sum256([]byte(repo + "@" + sum.String()))
	return "sha256-" + hex.EncodeToString(h[:])
}

// verifyLayer downloads l and checks its compressed stream against sum
// and its uncompressed one against diff, within the node's limit of one
// layer, giving the uncompressed stream to unpack on the way (nil: only
// checked).
func (n *Node) verifyLayer(ctx context.Context, image string, l v1.Layer, sum, diff v1.Hash, unpack func(io.Reader) error) error {
	rc, err := l.Compressed()
	if err != nil {
		return n.pullError(ctx, image, "layer "+sum.String(), err)
	}
	defer rc.Close()
	zsum := sha256.New()
	br := bufio.NewReader(io.TeeReader(rc, zsum))
	plain, closeFn, err := decompress(br)
	if err != nil {
		return fmt.Errorf("image %q: layer %s: %w", image, sum, err)
	}
	defer closeFn()
	usum := sha256.New()
	counted := &cappedReader{r: plain, left: n.maxLayer, max: n.maxLayer}
	ur := io.TeeReader(counted, usum)
	if unpack != nil {
		if err := unpack(ur); err != nil {
			return err
		}
	}
	// What follows the archive's end (padding, or bytes a forged layer
	// hides there) is part of what the digests cover.
	if _, err := io.Copy(io.Discard, ur); err != nil {
		return fmt.Errorf("image %q, layer %s: %w", image, diff, err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return n.pullError(ctx, image, "layer "+sum.String(), err)
	}
	if got := hexOf(zsum); got != sum.Hex {
		return fmt.Errorf("image %q: layer %s: the downloaded layer hashes to sha256:%s: %w", image, sum, got, errdefs.ErrInvalidArgument)
	}
	if got := hexOf(usum); got != diff.Hex {
		return fmt.Errorf("image %q: layer %s claims diff id %s but unpacks to sha256:%s; refusing it: %w", image, sum, diff, got, errdefs.ErrInvalidArgument)
	}
	return ctx.Err()
}

func hexOf(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// The magic numbers layer media types compress with.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// decompress reads a layer blob as gzip, zstd or a plain tar, as its
// first bytes say.
func decompress(br *bufio.Reader) (io.Reader, func(), error) {
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("not a valid gzip stream: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("not a valid zstd stream: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		return zr, zr.Close, nil
	default:
		return br, func() {}, nil
	}
}

// cappedReader fails once more than max bytes were read through it.
type cappedReader struct {
	r         io.Reader
	left, max int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a stream of exactly max bytes from a
		// longer one.
		var one [1]byte
		for {
			n, err := c.r.Read(one[:])
			if n > 0 {
				return 0, fmt.Errorf("the layer unpacks to more than %d bytes, the limit of one layer: %w", c.max, errdefs.ErrInvalidArgument)
			}
			if err != nil {
				return 0, err
			}
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
