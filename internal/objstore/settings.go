package objstore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Settings are the object storage settings as an operator gives them
// (flags and SOULBOX_S3_* variables), the same for `soulbox server` and
// `soulbox node`: Config with the secret key possibly in a file. Endpoint
// empty: none.
type Settings struct {
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
	// blob's upload or download, a delete); zero: DefaultTimeout.
	Timeout time.Duration
}

// FromEnv returns o with the SOULBOX_S3_* variables getenv has set.
func (o Settings) FromEnv(getenv func(string) string) Settings {
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
		// A malformed value is kept as -1 for Validate to name.
		if d, err := time.ParseDuration(s); err == nil {
			o.Timeout = d
		} else {
			o.Timeout = -1
		}
	}
	return o
}

// Validate checks what can be checked without reaching the object
// storage; Open checks the rest.
func (o Settings) Validate() error {
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

// Open connects to the object storage o names, checking that its bucket
// answers to its credentials, so that a mistake is found at start; nil
// when none is set.
func (o Settings) Open(ctx context.Context) (*Store, error) {
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
	return Open(ctx, Config{
		Endpoint: o.Endpoint, Bucket: o.Bucket, Region: o.Region,
		AccessKey: o.AccessKey, SecretKey: secret, Prefix: o.Prefix, Timeout: o.Timeout,
	})
}
