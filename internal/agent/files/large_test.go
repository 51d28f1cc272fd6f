package files

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// largeSize is big enough that buffering it would show in the heap.
const largeSize = 256 << 20

// peakHeap samples the heap until stop is called and returns its peak.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

func TestLargeStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 512 MiB")
	}
	e := newEnv(t)
	runtime.GC()
	stop := peakHeap()

	// Generated as it is sent, hashed as it goes.
	src := rand.NewChaCha8([32]byte{1, 2, 3})
	sent := sha256.New()
	body := io.TeeReader(io.LimitReader(src, largeSize), sent)
	req, err := http.NewRequest(http.MethodPost, e.url("path", "large.bin"), body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = largeSize
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, rb := e.do(req)
	wantEntries(t, resp, rb)

	resp, err = e.client.Get(e.url("path", "large.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != largeSize {
		t.Fatalf("download: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	got := sha256.New()
	n, err := io.Copy(got, resp.Body)
	if err != nil || n != largeSize {
		t.Fatalf("downloaded %d bytes: %v", n, err)
	}
	peak := stop()
	if !bytes.Equal(got.Sum(nil), sent.Sum(nil)) {
		t.Error("the download differs from the upload")
	}
	t.Logf("peak heap %d KiB for %d MiB up and down", peak>>10, largeSize>>20)
	if peak > largeSize/8 {
		t.Errorf("peak heap %d MiB: the transfer was buffered", peak>>20)
	}
}
