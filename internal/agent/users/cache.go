package users

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Stamp identifies one version of a file by what stat(2) says of it, so
// that what was read from it can be kept until it changes.
type Stamp struct {
	dev, ino uint64
	size     int64
	mod, chg int64 // modification and change times, in ns
	ok       bool
}

// settle is how long a file's stamp is not trusted after its last change:
// file times come from a coarse clock, so a second write of the same size
// within one tick of the first would leave the stamp as it was. A
// variable for tests.
var settle = 2 * time.Second

// StampOf returns path's stamp; one of a missing file, or of a file
// changed less than settle ago, is never Unchanged.
func StampOf(path string) Stamp {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return Stamp{}
	}
	s := Stamp{dev: st.Dev, ino: st.Ino, size: st.Size, mod: st.Mtim.Nano(), chg: st.Ctim.Nano()}
	s.ok = time.Since(time.Unix(0, max(s.mod, s.chg))) >= settle
	return s
}

// Unchanged reports whether s and o are the same trusted version.
func (s Stamp) Unchanged(o Stamp) bool {
	return s.ok && s == o
}

// Cache is Files.Lookup with each user kept while neither file changes:
// a request's user is resolved with two stats instead of reading and
// parsing both files. A user added or changed (useradd, usermod, an
// edit) is seen at the next lookup.
type Cache struct {
	files Files

	mu            sync.Mutex
	passwd, group Stamp
	users         map[string]User
}

// NewCache returns a cache of lookups through f.
func NewCache(f Files) *Cache {
	return &Cache{files: f}
}

// Lookup is Files.Lookup, answered from the cache when it can be.
func (c *Cache) Lookup(name string) (User, error) {
	// Stamped before the files are read: a change in between makes the
	// next lookup read them again rather than keep what this one read.
	pw, gr := StampOf(c.files.Passwd), StampOf(c.files.Group)
	c.mu.Lock()
	if pw.Unchanged(c.passwd) && gr.Unchanged(c.group) {
		if u, ok := c.users[name]; ok {
			c.mu.Unlock()
			return u.clone(), nil
		}
	} else {
		c.passwd, c.group, c.users = pw, gr, nil
	}
	c.mu.Unlock()
	u, err := c.files.Lookup(name)
	if err != nil || !pw.ok || !gr.ok {
		return u, err
	}
	c.mu.Lock()
	if c.passwd == pw && c.group == gr {
		if c.users == nil {
			c.users = map[string]User{}
		}
		c.users[name] = u.clone()
	}
	c.mu.Unlock()
	return u, nil
}

// clone copies u so that no caller shares its groups with the cache.
func (u User) clone() User {
	u.Groups = append([]uint32(nil), u.Groups...)
	return u
}
