// Package mountinfo reads the kernel's mount table (/proc/self/mountinfo),
// the one parser of it in the module: the runtime finds cgroup hierarchies
// and a sandbox's mounts with it, the template store the builds that
// running sandboxes still mount, and tests their leftovers.
package mountinfo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Mount is one line of the table.
type Mount struct {
	// ID is the mount's id, unique in its namespace (and what a file's
	// fdinfo names as its mnt_id).
	ID int
	// Dev is the filesystem's device, "major:minor".
	Dev string
	// Root is the path inside the filesystem that is mounted (not "/" for
	// a bind mount of a subdirectory).
	Root string
	// Point is where it is mounted.
	Point string
	// FSType is the filesystem type ("ext4", "cgroup", "cgroup2", ...).
	FSType string
	// Source is the mount source ("/dev/loop3", "overlay", "cgroup").
	Source string
	// SuperOptions are the filesystem's options; for cgroup v1 they name
	// the hierarchy's controllers.
	SuperOptions []string
}

// Read returns the calling process's mount table.
func Read() ([]Mount, error) {
	return read("/proc/self/mountinfo")
}

// ReadPid returns the mount table of process pid's mount namespace.
func ReadPid(pid int) ([]Mount, error) {
	return read(fmt.Sprintf("/proc/%d/mountinfo", pid))
}

func read(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	return Parse(f)
}

// Parse reads a table in mountinfo's format:
//
//	id parent major:minor root point options [optional fields...] - fstype source superoptions
//
// Lines that do not have that shape are skipped.
func Parse(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || len(f) < sep+3 {
			continue
		}
		id, _ := strconv.Atoi(f[0])
		m := Mount{
			ID: id, Dev: f[2], Root: Unescape(f[3]), Point: Unescape(f[4]),
			FSType: f[sep+1], Source: Unescape(f[sep+2]),
		}
		if len(f) > sep+3 {
			m.SuperOptions = strings.Split(f[sep+3], ",")
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	return out, nil
}

// Under returns the mount points at or below dir (a clean absolute path
// without symlinks, as the table shows paths), in table order.
func Under(dir string) ([]string, error) {
	ms, err := Read()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		if m.Point == dir || strings.HasPrefix(m.Point, strings.TrimSuffix(dir, "/")+"/") {
			out = append(out, m.Point)
		}
	}
	return out, nil
}

// Unescape undoes the kernel's octal escapes in the table's paths (\040
// for a space, \011, \012, \134).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
