// Package users resolves the sandbox's users for the agent: the user a
// request names (E2B sends it as the Basic auth user name) becomes a uid,
// gid, groups and home directory read from the sandbox's own /etc/passwd
// and /etc/group, the way login does it.
package users

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// User is a resolved user of the sandbox.
type User struct {
	Name   string
	UID    uint32
	GID    uint32
	Groups []uint32 // supplementary groups
	Home   string
	Shell  string
}

// Files are where Lookup reads from; tests point them elsewhere.
type Files struct {
	Passwd string
	Group  string
}

// System are the sandbox's own files.
var System = Files{Passwd: "/etc/passwd", Group: "/etc/group"}

// Lookup resolves a user name, or a numeric uid, through f.
func (f Files) Lookup(name string) (User, error) {
	if name == "" {
		return User{}, fmt.Errorf("user name is empty: %w", errdefs.ErrInvalidArgument)
	}
	pf, err := os.Open(f.Passwd)
	if err != nil {
		return User{}, fmt.Errorf("read users: %w", err)
	}
	defer pf.Close()
	sc := bufio.NewScanner(pf)
	for sc.Scan() {
		fld := strings.Split(sc.Text(), ":")
		if len(fld) < 7 || (fld[0] != name && fld[2] != name) {
			continue
		}
		uid, err1 := strconv.ParseUint(fld[2], 10, 32)
		gid, err2 := strconv.ParseUint(fld[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		u := User{Name: fld[0], UID: uint32(uid), GID: uint32(gid), Home: fld[5], Shell: fld[6]}
		if u.Home == "" {
			u.Home = "/"
		}
		u.Groups = f.groupsOf(u.Name, u.GID)
		return u, nil
	}
	return User{}, fmt.Errorf("user %q does not exist in the sandbox: %w", name, errdefs.ErrNotFound)
}

// groupsOf lists the groups name is a member of, with its primary group.
func (f Files) groupsOf(name string, primary uint32) []uint32 {
	out := []uint32{primary}
	gf, err := os.Open(f.Group)
	if err != nil {
		return out
	}
	defer gf.Close()
	sc := bufio.NewScanner(gf)
	for sc.Scan() {
		fld := strings.Split(sc.Text(), ":")
		if len(fld) < 4 {
			continue
		}
		for _, m := range strings.Split(fld[3], ",") {
			if m == name {
				if gid, err := strconv.ParseUint(fld[2], 10, 32); err == nil && uint32(gid) != primary {
					out = append(out, uint32(gid))
				}
			}
		}
	}
	return out
}
