package filesystem

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
	"github.com/soulbox/soulbox/internal/agent/users"
)

// metadataPrefix is the extended-attribute namespace of the metadata the
// SDKs attach to uploads (X-Metadata-<key> on POST /files).
const metadataPrefix = "user.e2b."

// entry describes the file at path, without following a final symlink.
func entry(path string, ids idNames) (*pb.EntryInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, fsError(err)
	}
	return entryOf(path, fi, ids), nil
}

// entryOf describes the file at path whose Lstat is fi, as E2B's envd
// does:
//   - a symlink reports its target's type and permission bits, with
//     symlink_target the fully resolved target; permissions are the
//     link's own ("Lrwxrwxrwx"). A dangling or looping symlink is
//     FILE_TYPE_SYMLINK (E2B sends UNSPECIFIED, which its SDK's list
//     drops) and its target is the link's text as read;
//   - mode is the permission bits (mode & 0o777), permissions Go's
//     fs.FileMode string ("-rw-r--r--", "drwxr-xr-x", "dtrwxrwxrwx");
//   - sockets, pipes and devices are FILE_TYPE_UNSPECIFIED, as in E2B.
func entryOf(path string, fi fs.FileInfo, ids idNames) *pb.EntryInfo {
	mode := fi.Mode()
	e := &pb.EntryInfo{
		Name:         validUTF8(fi.Name()),
		Type:         fileType(mode),
		Path:         validUTF8(path),
		Size:         fi.Size(),
		Mode:         uint32(mode.Perm()),
		Permissions:  mode.String(),
		ModifiedTime: timestamppb.New(fi.ModTime()),
	}
	if mode&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			target, _ = os.Readlink(path)
		}
		target = validUTF8(target)
		e.SymlinkTarget = &target
		if ti, err := os.Stat(path); err == nil {
			e.Type = fileType(ti.Mode())
			e.Mode = uint32(ti.Mode().Perm())
		}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.Owner, e.Group = ids.user(st.Uid), ids.group(st.Gid)
	}
	e.Metadata = metadata(path)
	return e
}

func fileType(m fs.FileMode) pb.FileType {
	switch {
	case m.IsRegular():
		return pb.FileType_FILE_TYPE_FILE
	case m.IsDir():
		return pb.FileType_FILE_TYPE_DIRECTORY
	case m&fs.ModeSymlink != 0:
		return pb.FileType_FILE_TYPE_SYMLINK
	default:
		return pb.FileType_FILE_TYPE_UNSPECIFIED
	}
}

// metadata reads the user.e2b.* extended attributes of path (following a
// symlink, as the upload wrote them on the file), without the prefix. It
// is best effort: a file system without user xattrs (ENOTSUP), an
// attribute removed meanwhile (ENODATA) or any other failure yields what
// could be read, never an error.
func metadata(path string) map[string]string {
	names, err := xattr(func(b []byte) (int, error) { return unix.Listxattr(path, b) })
	if err != nil || len(names) == 0 {
		return nil
	}
	var md map[string]string
	for name := range strings.SplitSeq(strings.TrimRight(string(names), "\x00"), "\x00") {
		key, ok := strings.CutPrefix(name, metadataPrefix)
		if !ok || key == "" {
			continue
		}
		val, err := xattr(func(b []byte) (int, error) { return unix.Getxattr(path, name, b) })
		if err != nil {
			continue
		}
		if md == nil {
			md = map[string]string{}
		}
		md[validUTF8(key)] = validUTF8(string(val))
	}
	return md
}

// xattr calls get with a buffer big enough for its answer.
func xattr(get func([]byte) (int, error)) ([]byte, error) {
	buf := make([]byte, 256)
	for range 3 {
		n, err := get(buf)
		if err == nil {
			return buf[:n], nil
		}
		if !errors.Is(err, unix.ERANGE) {
			return nil, err
		}
		// Too small: ask for the size, which may grow again meanwhile.
		if n, err = get(nil); err != nil {
			return nil, err
		}
		buf = make([]byte, n)
	}
	return nil, unix.ERANGE
}

// idNames names uids and gids through the sandbox's passwd and group.
type idNames struct {
	users, groups map[uint32]string
}

func (n idNames) user(uid uint32) string {
	if name, ok := n.users[uid]; ok {
		return name
	}
	return strconv.FormatUint(uint64(uid), 10)
}

func (n idNames) group(gid uint32) string {
	if name, ok := n.groups[gid]; ok {
		return name
	}
	return strconv.FormatUint(uint64(gid), 10)
}

// nameCache keeps the id names, reading the files again when they change.
type nameCache struct {
	files users.Files

	mu            sync.Mutex
	passwd, group users.Stamp
	names         idNames
}

// load returns the names as the files have them now. The maps returned
// are never modified: callers share them.
func (c *nameCache) load() idNames {
	pw, gr := users.StampOf(c.files.Passwd), users.StampOf(c.files.Group)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.names.users == nil || !pw.Unchanged(c.passwd) || !gr.Unchanged(c.group) {
		c.names = idNames{users: readIDs(c.files.Passwd), groups: readIDs(c.files.Group)}
		c.passwd, c.group = pw, gr
	}
	return c.names
}

// readIDs maps the ids of a passwd or group file (name:x:id:...) to their
// names; the first line of an id wins, as in getpwuid(3).
func readIDs(path string) map[uint32]string {
	ids := map[uint32]string{}
	f, err := os.Open(path)
	if err != nil {
		return ids
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fld := strings.SplitN(sc.Text(), ":", 4)
		if len(fld) < 3 || fld[0] == "" {
			continue
		}
		id, err := strconv.ParseUint(fld[2], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := ids[uint32(id)]; !dup {
			ids[uint32(id)] = validUTF8(fld[0])
		}
	}
	return ids
}
