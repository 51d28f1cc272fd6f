package files

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Metadata is stored as extended attributes named xattrPrefix + key, where
// the filesystem service reads it back for EntryInfo.metadata, as in envd.
const (
	metadataHeaderPrefix = "X-Metadata-"
	xattrPrefix          = "user.e2b."
	// maxKeyLen is what the kernel allows in an xattr name (255 bytes)
	// after the prefix; maxMetadataLen keeps a set within the one block
	// ext4 stores an inode's xattrs in.
	maxKeyLen      = 255 - len(xattrPrefix)
	maxMetadataLen = 4096
)

// metadataOf returns the X-Metadata-<key> headers of h, keys lowercased,
// first value of each, or nil when there are none.
func metadataOf(h http.Header) (map[string]string, *httpError) {
	var md map[string]string
	total := 0
	for name, values := range h {
		if len(values) == 0 || len(name) <= len(metadataHeaderPrefix) ||
			!strings.EqualFold(name[:len(metadataHeaderPrefix)], metadataHeaderPrefix) {
			continue
		}
		key := strings.ToLower(name[len(metadataHeaderPrefix):])
		value := values[0]
		if len(key) > maxKeyLen {
			return nil, errorf(http.StatusBadRequest, nil, "metadata key %q is longer than %d bytes", key, maxKeyLen)
		}
		if !printable(key) || !printable(value) {
			return nil, errorf(http.StatusBadRequest, nil, "metadata %q: keys and values must be printable ASCII", key)
		}
		total += len(xattrPrefix) + len(key) + len(value)
		if md == nil {
			md = make(map[string]string)
		}
		md[key] = value
	}
	if total > maxMetadataLen {
		return nil, errorf(http.StatusBadRequest, nil, "metadata takes %d bytes, more than the %d a file can hold", total, maxMetadataLen)
	}
	return md, nil
}

func printable(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// writeMetadata sets md on the open file f. It reports false, and no
// error, when the file system keeps no extended attributes (tmpfs on old
// kernels, some FUSE file systems): the upload still succeeds, without
// metadata, as in envd.
func writeMetadata(f *os.File, md map[string]string) (bool, error) {
	fd := int(f.Fd())
	for k, v := range md {
		if err := unix.Fsetxattr(fd, xattrPrefix+k, []byte(v), 0); err != nil {
			if errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) {
				return false, nil
			}
			return false, &os.PathError{Op: "setxattr", Path: f.Name(), Err: err}
		}
	}
	return true, nil
}
