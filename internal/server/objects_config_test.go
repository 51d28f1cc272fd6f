package server

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
)

// The object storage is configured from SOULBOX_S3_*, its secret from
// the environment or a file; a half-given configuration is refused by
// Validate, and one the object storage refuses stops the server at start
// with an error saying what to fix.
func TestObjectsConfig(t *testing.T) {
	srv := s3test.Start(t, "soulbox")
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(s3test.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"SOULBOX_S3_ENDPOINT":        srv.Endpoint,
		"SOULBOX_S3_BUCKET":          "soulbox",
		"SOULBOX_S3_ACCESS_KEY":      s3test.AccessKey,
		"SOULBOX_S3_SECRET_KEY_FILE": secretFile,
	}
	env["SOULBOX_S3_TIMEOUT"] = "soon"
	if err := Defaults().FromEnv(func(k string) string { return env[k] }).Validate(); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "SOULBOX_S3_TIMEOUT") {
		t.Errorf("SOULBOX_S3_TIMEOUT=soon: %v; want it refused by name", err)
	}
	env["SOULBOX_S3_TIMEOUT"] = "90s"
	c := Defaults().FromEnv(func(k string) string { return env[k] })
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Objects.Timeout != 90*time.Second {
		t.Errorf("SOULBOX_S3_TIMEOUT=90s: timeout %v", c.Objects.Timeout)
	}
	objs, err := c.Objects.Open(context.Background())
	if err != nil || objs == nil {
		t.Fatalf("open with the secret from a file: %v", err)
	}
	if o, err := Defaults().Objects.Open(context.Background()); o != nil || err != nil {
		t.Fatalf("no object storage configured: %v, %v; want none", o, err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		name     string
		edit     func(*ObjectsConfig)
		validate bool // refused by Validate, before anything is reached
		is       error
		words    string
	}{
		{"bucket without endpoint", func(o *ObjectsConfig) { o.Endpoint = "" }, true, errdefs.ErrInvalidArgument, "no endpoint"},
		{"no secret", func(o *ObjectsConfig) { o.SecretKeyFile = "" }, true, errdefs.ErrInvalidArgument, "SOULBOX_S3_SECRET_KEY"},
		{"bad timeout", func(o *ObjectsConfig) { o.Timeout = -1 }, true, errdefs.ErrInvalidArgument, "SOULBOX_S3_TIMEOUT"},
		{"secret file missing", func(o *ObjectsConfig) { o.SecretKeyFile = secretFile + ".gone" }, false, errdefs.ErrInvalidArgument, "secret key file"},
		{"wrong secret", func(o *ObjectsConfig) { o.SecretKeyFile, o.SecretKey = "", "wrong" }, false, errdefs.ErrPermissionDenied, "secret key"},
		{"missing bucket", func(o *ObjectsConfig) { o.Bucket = "absent" }, false, errdefs.ErrFailedPrecondition, `no bucket "absent"`},
		{"unreachable", func(o *ObjectsConfig) { o.Endpoint = dead }, false, errdefs.ErrUnavailable, "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := c
			tc.edit(&bad.Objects)
			err := bad.Validate()
			if !tc.validate {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				_, err = bad.Objects.Open(context.Background())
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("%v; want an error saying %q", err, tc.words)
			}
		})
	}
}
