package files

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
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

// A burst of concurrent downloads must not leave one idle OS thread per
// download: the agent shares the sandbox's limit on processes and
// threads. At most the caps stay idle, per identity and in all.
func TestIdentityThreadsIdleAreCapped(t *testing.T) {
	testutil.RequiresRoot(t)
	old := identityIdle
	identityIdle = time.Minute // none ends by idling during the test
	t.Cleanup(func() { identityIdle = old })

	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var us []users.User
	for i := range 16 {
		us = append(us, users.User{Name: "burst", UID: uint32(4500 + i), GID: uint32(4500 + i)})
	}
	// The threads kept end with the test, leaving the caps to other tests.
	t.Cleanup(func() {
		for _, u := range us {
			for th := identities.take(identityKey(u)); th != nil; th = identities.take(identityKey(u)) {
				close(th.reqs)
			}
		}
	})
	// burst opens f n times at once as each of us.
	burst := func(us []users.User, n int) {
		t.Helper()
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, len(us)*n)
		for _, u := range us {
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					got, err := openAs(u, f)
					if err != nil {
						errs <- err
						return
					}
					got.Close()
				}()
			}
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("open during the burst: %v", err)
		}
	}

	burst(us[:1], 300)
	if n := identities.idleOf(us[0]); n > maxIdlePerIdentity {
		t.Errorf("%d idle threads of one user after a burst of 300 opens, want at most %d", n, maxIdlePerIdentity)
	}
	burst(us, 40)
	if n := identities.idleTotal(); n > maxIdle {
		t.Errorf("%d idle identity threads after a burst of 40 opens as each of 16 users, want at most %d", n, maxIdle)
	}
	// The threads kept still serve opens.
	for _, u := range us {
		got, err := openAs(u, f)
		if err != nil {
			t.Fatalf("open after the burst as uid %d: %v", u.UID, err)
		}
		got.Close()
	}
}
