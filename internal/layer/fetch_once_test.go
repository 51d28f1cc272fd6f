package layer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowRemote is a remote whose every fetch waits until a second fetch
// has begun, or two seconds: fetches of one layer that overlap show.
type slowRemote struct {
	fetches atomic.Int32
	second  chan struct{}
	once    sync.Once
}

func (r *slowRemote) Push(context.Context, string, string) (Blob, error) { return Blob{}, nil }

func (r *slowRemote) Fetch(_ context.Context, digest string, _ Blob, into string) (Blob, error) {
	if r.fetches.Add(1) == 2 {
		r.once.Do(func() { close(r.second) })
	}
	select {
	case <-r.second:
	case <-time.After(2 * time.Second):
	}
	return Blob{Digest: "sha256:" + strings.Repeat("0", 64)}, os.WriteFile(filepath.Join(into, "f"), []byte(digest), 0o644)
}

// TestConcurrentFetchesDownloadOnce: creates that miss the same layer at
// once download it once, and every one of them gets it installed.
func TestConcurrentFetchesDownloadOnce(t *testing.T) {
	s, err := New(filepath.Join(t.TempDir(), "layers"))
	if err != nil {
		t.Fatal(err)
	}
	r := &slowRemote{second: make(chan struct{})}
	s.SetRemote(r)
	const d = "key-0123456789abcdef0123"
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Fetch(context.Background(), d)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("fetch %d: %v", i, err)
		}
	}
	if n := r.fetches.Load(); n != 1 {
		t.Errorf("the layer was downloaded %d times, want once", n)
	}
	if b, err := os.ReadFile(filepath.Join(s.Path(d), "f")); err != nil || string(b) != d {
		t.Errorf("the fetched layer: %q, %v", b, err)
	}
}
