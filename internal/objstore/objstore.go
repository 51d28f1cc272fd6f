// Package objstore keeps content-addressed blobs in S3-compatible object
// storage, so that what one node made (a template's layer, a paused
// sandbox's checkpoint) can be fetched by another, or by the same node
// after it lost its disk. A blob is stored under the SHA-256 of its bytes
// and verified against it on every download: a corrupted or truncated
// object is refused, never installed. A ref is a small object naming a
// blob, so that a layer (named by its own digest) can find the archive
// it was stored as.
//
// Blobs stream in both directions: nothing is held whole in memory.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Config says where the object storage is. The zero Config is no object
// storage.
type Config struct {
	// Endpoint is the server's URL: http://host:port or https://host:port.
	Endpoint string
	// Bucket holds every object SoulBox writes; it must exist.
	Bucket string
	// Region is the bucket's region; empty lets the server say.
	Region string
	// AccessKey and SecretKey are the credentials.
	AccessKey string
	SecretKey string
	// Prefix, when set, is put before every object name, so that several
	// installations can share one bucket.
	Prefix string
	// Timeout is the longest one call may take (an upload or download
	// of one blob with its archive, a ref, a delete), retries included;
	// zero: DefaultTimeout. An endpoint that accepts and never answers
	// costs a call this long, never more.
	Timeout time.Duration
}

// DefaultTimeout is a call's limit when Config.Timeout is zero: a
// checkpoint of several GiB moves in well under it at the speed of a
// local network.
const DefaultTimeout = 5 * time.Minute

// Enabled reports whether c names an object storage at all.
func (c Config) Enabled() bool { return c.Endpoint != "" }

// Store is a bucket of blobs and refs.
type Store struct {
	client  *minio.Client
	bucket  string
	prefix  string
	timeout time.Duration // of each call; see Config.Timeout
}

// Open connects to the object storage c names and checks that its bucket
// is reachable with its credentials, so that a mistake in the
// configuration is found at start rather than at the first pause.
func Open(ctx context.Context, c Config) (*Store, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("object storage endpoint %q: use http://host:port or https://host:port: %w", c.Endpoint, errdefs.ErrInvalidArgument)
	}
	if c.Bucket == "" {
		return nil, fmt.Errorf("object storage at %s: name its bucket: %w", c.Endpoint, errdefs.ErrInvalidArgument)
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return nil, fmt.Errorf("object storage at %s: give its access key and secret key: %w", c.Endpoint, errdefs.ErrInvalidArgument)
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("object storage timeout %v: use a positive duration, or zero for %v: %w", c.Timeout, DefaultTimeout, errdefs.ErrInvalidArgument)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Prefix != "" && !prefixRE.MatchString(c.Prefix) {
		return nil, fmt.Errorf("object storage prefix %q: use letters, digits, '-', '_' and '/' ending in '/': %w", c.Prefix, errdefs.ErrInvalidArgument)
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure: u.Scheme == "https",
		Region: c.Region,
		// Path-style addressing works with every S3-compatible server;
		// virtual-host style needs DNS for each bucket.
		BucketLookup: minio.BucketLookupPath,
		// minio-go's default is 10 tries with backoff, about 10 s of
		// waiting for an endpoint that is down, which a pause, resume or
		// kill would spend before it says so; 3 ride out a blip.
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("object storage at %s: %w: %w", c.Endpoint, err, errdefs.ErrInvalidArgument)
	}
	s := &Store{client: client, bucket: c.Bucket, prefix: c.Prefix, timeout: c.Timeout}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	// A listing of one key, not a HEAD of the bucket: a HEAD's answer
	// has no body, so an unknown access key and a missing bucket can look
	// alike; a GET's error names its cause.
	for obj := range client.ListObjects(cctx, c.Bucket, minio.ListObjectsOptions{MaxKeys: 1, Prefix: c.Prefix}) {
		if obj.Err != nil {
			err := classify(obj.Err)
			if errors.Is(err, errdefs.ErrFailedPrecondition) || errors.Is(err, errdefs.ErrNotFound) {
				return nil, fmt.Errorf("object storage at %s has no bucket %q: create it first: %w", c.Endpoint, c.Bucket, errdefs.ErrFailedPrecondition)
			}
			return nil, fmt.Errorf("object storage at %s, bucket %q: %w", c.Endpoint, c.Bucket, err)
		}
		break
	}
	cancel()
	return s, nil
}

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_\-/]+/$`)

// classify wraps an error of the object storage in the errdefs category
// that says what to do about it.
func classify(err error) error {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.Code {
		case "NoSuchKey":
			return fmt.Errorf("%s: %w", resp.Message, errdefs.ErrNotFound)
		case "NoSuchBucket":
			return fmt.Errorf("no such bucket: %w", errdefs.ErrFailedPrecondition)
		// XAdminUserNotFound is versitygw's answer (a 404) for an
		// access key it does not know, where S3 says InvalidAccessKeyId.
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "XAdminUserNotFound":
			return fmt.Errorf("credentials refused (%s): check the access key and secret key: %w", resp.Code, errdefs.ErrPermissionDenied)
		}
		if resp.StatusCode == 403 {
			return fmt.Errorf("credentials refused (%s): check the access key and secret key: %w", resp.Code, errdefs.ErrPermissionDenied)
		}
		if resp.StatusCode == 404 {
			return fmt.Errorf("%s: %w", resp.Code, errdefs.ErrNotFound)
		}
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer in time: %w: %w", err, errdefs.ErrUnavailable)
	}
	return fmt.Errorf("unreachable: %w: %w", err, errdefs.ErrUnavailable)
}

// call bounds one call by the store's timeout.
func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// key is the object name of a blob or ref.
func (s *Store) key(kind, name string) string { return s.prefix + kind + "/" + name }

// blobKey is where blob digest is; digest is "sha256:<hex>".
func (s *Store) blobKey(digest string) string {
	return s.key("blobs/sha256", strings.TrimPrefix(digest, "sha256:"))
}

// digestRE is what a blob digest looks like.
var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ValidDigest reports whether d names a blob.
func ValidDigest(d string) bool { return digestRE.MatchString(d) }

// removeQuietly deletes a temporary file whose work is done.
func removeQuietly(path string) { _ = os.Remove(path) }
