package files

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/agent/users"
	"github.com/soulbox/soulbox/internal/testutil"
)

// Threads kept with one user's identity must never open a file for
// another user, and must end once unused.
func TestIdentityThreadsKeepTheirUser(t *testing.T) {
	testutil.RequiresRoot(t)
	old := identityIdle
	identityIdle = 50 * time.Millisecond
	t.Cleanup(func() { identityIdle = old })

	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	owner := users.User{Name: "owner", UID: 4401, GID: 4401}
	other := users.User{Name: "other", UID: 4402, GID: 4402}
	grouped := users.User{Name: "grouped", UID: 4402, GID: 4402, Groups: []uint32{4401}}
	mine := filepath.Join(dir, "mine")
	if err := os.WriteFile(mine, []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(mine, int(owner.UID), int(owner.GID)); err != nil {
		t.Fatal(err)
	}

	for i := range 20 {
		for _, tc := range []struct {
			u  users.User
			ok bool
		}{{owner, true}, {other, false}, {grouped, true}, {users.User{Name: "root"}, true}} {
			f, err := openAs(tc.u, mine)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("round %d: %s cannot open its file: %v", i, tc.u.Name, err)
			case !tc.ok && !errors.Is(err, os.ErrPermission):
				t.Fatalf("round %d: %s opened another user's file: %v", i, tc.u.Name, err)
			}
			if f != nil {
				f.Close()
			}
		}
	}
	// One thread per identity kept, none for root.
	idle := func() (n int) {
		for _, u := range []users.User{owner, other, grouped} {
			n += identities.idleOf(u)
		}
		return n
	}
	if n := idle(); n != 3 {
		t.Errorf("%d idle identity threads after sequential opens as 3 users, want 3", n)
	}
	deadline := time.Now().Add(30 * time.Second)
	for idle() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d identity threads still idle long after their idle time", idle())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
