package server

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/objstore"
)

// ObjectsConfig says where the S3-compatible object storage that layers
// and pause checkpoints are also kept in is. Endpoint empty: none.
type ObjectsConfig struct {
	Endpoint  string // http(s)://host:port
	Bucket    string
	Region    string
	AccessKey string
	// SecretKey is the secret key itself (from the environment), or
	// SecretKeyFile a file holding it (first line); the file wins.
	SecretKey     string
	SecretKeyFile string
	// Prefix is put before every object name ("soulbox/"), for a bucket
	// shared with others.
	Prefix string
	// Timeout is the longest one object storage call may take (one
	// blob's upload or download, a delete); zero: objstore.DefaultTimeout.
	Timeout time.Duration
}

// objectsFromEnv reads SOULBOX_S3_* into o.
func objectsFromEnv(o ObjectsConfig, getenv func(string) string) ObjectsConfig {
	for _, v := range []struct {
		name string
		dst  *string
	}{
		{"SOULBOX_S3_ENDPOINT", &o.Endpoint},
		{"SOULBOX_S3_BUCKET", &o.Bucket},
		{"SOULBOX_S3_REGION", &o.Region},
		{"SOULBOX_S3_ACCESS_KEY", &o.AccessKey},
		{"SOULBOX_S3_SECRET_KEY", &o.SecretKey},
		{"SOULBOX_S3_SECRET_KEY_FILE", &o.SecretKeyFile},
		{"SOULBOX_S3_PREFIX", &o.Prefix},
	} {
		if s := getenv(v.name); s != "" {
			*v.dst = s
		}
	}
	if s := getenv("SOULBOX_S3_TIMEOUT"); s != "" {
		// A malformed value is kept as -1 for validate to name.
		if d, err := time.ParseDuration(s); err == nil {
			o.Timeout = d
		} else {
			o.Timeout = -1
		}
	}
	return o
}

// validate checks what can be checked without reaching the object
// storage; openObjects checks the rest at start.
func (o ObjectsConfig) validate() error {
	if o.Endpoint == "" {
		if o.Bucket != "" || o.AccessKey != "" || o.SecretKey != "" || o.SecretKeyFile != "" {
			return fmt.Errorf("object storage: a bucket or credentials are set but no endpoint (SOULBOX_S3_ENDPOINT, --s3-endpoint): %w", errdefs.ErrInvalidArgument)
		}
		return nil
	}
	if o.Timeout < 0 {
		return fmt.Errorf("object storage timeout (SOULBOX_S3_TIMEOUT, --s3-timeout): use a positive duration such as 5m: %w", errdefs.ErrInvalidArgument)
	}
	if o.SecretKey == "" && o.SecretKeyFile == "" {
		return fmt.Errorf("object storage at %s: give its secret key in SOULBOX_S3_SECRET_KEY or a file named by SOULBOX_S3_SECRET_KEY_FILE (--s3-secret-key-file): %w", o.Endpoint, errdefs.ErrInvalidArgument)
	}
	return nil
}

// openObjects connects to the configured object storage, checking that
// its bucket answers to its credentials, so that a mistake stops the
// server at start; nil when none is configured.
func (o ObjectsConfig) openObjects(ctx context.Context) (*objstore.Store, error) {
	if o.Endpoint == "" {
		return nil, nil
	}
	secret := o.SecretKey
	if o.SecretKeyFile != "" {
		b, err := os.ReadFile(o.SecretKeyFile)
		if err != nil {
			return nil, fmt.Errorf("object storage secret key file: %w: %w", err, errdefs.ErrInvalidArgument)
		}
		secret, _, _ = strings.Cut(string(b), "\n")
		secret = strings.TrimSpace(secret)
	}
	return objstore.Open(ctx, objstore.Config{
		Endpoint: o.Endpoint, Bucket: o.Bucket, Region: o.Region,
		AccessKey: o.AccessKey, SecretKey: secret, Prefix: o.Prefix, Timeout: o.Timeout,
	})
}

// pushGrace is how long a shutdown waits for layers still on their way to
// object storage: past it the server stops, and a layer not sent is on
// this host only (each upload has its own deadline, Objects' timeout,
// which can be minutes).
const pushGrace = 30 * time.Second
