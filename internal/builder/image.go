package builder

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	goruntime "runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// fetchImage finds image, trying the mirrors first for Docker Hub images
// as Docker does, and returns it with where it came from.
func (n *Node) fetchImage(ctx context.Context, image string, reg *Registry) (v1.Image, string, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return nil, "", fmt.Errorf("image name %q: %v: %w", image, err, errdefs.ErrInvalidArgument)
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}),
	}
	if reg != nil {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: reg.Username, Password: reg.Password}))
	} else {
		opts = append(opts, remote.WithAuth(authn.Anonymous))
	}
	if ref.Context().RegistryStr() == name.DefaultRegistry {
		// Mirrors are the operator's: they may be on private addresses.
		for _, m := range n.mirrors {
			mref, err := mirrored(ref, m)
			if err != nil {
				return nil, "", err
			}
			img, err := remote.Image(mref, opts...)
			if err == nil {
				return img, mref.String(), nil
			}
			if ctx.Err() != nil {
				return nil, "", ctx.Err()
			}
			n.log.Info("registry mirror failed, trying the next source", "image", image, "mirror", m, "error", err)
		}
	}
	img, err := remote.Image(ref, append(opts, remote.WithTransport(n.guardedTransport()))...)
	if err != nil {
		return nil, "", n.pullError(ctx, image, "manifest", err)
	}
	return img, ref.String(), nil
}

// mirrored points ref at a mirror given as Docker's registry-mirrors
// entries are: a URL whose scheme says whether to use TLS.
func mirrored(ref name.Reference, mirror string) (name.Reference, error) {
	u, err := url.Parse(mirror)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("registry mirror %q: want a URL such as https://mirror.example: %w", mirror, errdefs.ErrInvalidArgument)
	}
	var opts []name.Option
	if u.Scheme == "http" {
		opts = append(opts, name.Insecure)
	}
	s := u.Host + "/" + ref.Context().RepositoryStr()
	if d, ok := ref.(name.Digest); ok {
		return name.NewDigest(s+"@"+d.DigestStr(), opts...)
	}
	return name.NewTag(s+":"+ref.Identifier(), opts...)
}

// pullImage installs image's layers in the layer store (each under its
// diff id, so images sharing layers share them on disk) and returns their
// paths, topmost first, with the image's configuration.
func (n *Node) pullImage(ctx context.Context, image string, reg *Registry, log Log) ([]string, Settings, error) {
	img, from, err := n.fetchImage(ctx, image, reg)
	if err != nil {
		return nil, Settings{}, err
	}
	log("info", "base", "pulling "+from)
	// What a repository served is recorded by its name: another
	// repository's blob of the same digest is no proof of this one's.
	repo := from
	if ref, err := name.ParseReference(from); err == nil {
		repo = ref.Context().Name()
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, Settings{}, n.pullError(ctx, image, "layers", err)
	}
	var paths []string
	for _, l := range layers {
		id, err := n.installImageLayer(ctx, image, repo, l, log)
		if err != nil {
			return nil, Settings{}, err
		}
		paths = append([]string{n.layers.Path(id)}, paths...)
	}
	cfg := Settings{Env: map[string]string{}}
	if cf, err := img.ConfigFile(); err == nil && cf != nil {
		for _, kv := range cf.Config.Env {
			k, v, _ := strings.Cut(kv, "=")
			cfg.Env[k] = v
		}
		cfg.Workdir = cf.Config.WorkingDir
		cfg.User = cf.Config.User
	} else if err != nil {
		return nil, Settings{}, n.pullError(ctx, image, "configuration", err)
	}
	if len(paths) == 0 {
		return nil, Settings{}, fmt.Errorf("image %q has no layers: %w", image, errors.Join(errdefs.ErrInvalidArgument))
	}
	return paths, cfg, nil
}
