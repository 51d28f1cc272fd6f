package bench

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
	"time"
)

func TestNoise(t *testing.T) {
	for _, size := range []int64{0, 1, 1<<20 - 1, 1 << 20, 3<<20 + 17} {
		n, err := io.Copy(io.Discard, newNoise(size))
		if err != nil || n != size {
			t.Errorf("noise of %d: read %d, %v", size, n, err)
		}
	}
	// It must not compress, or a compressing layer would flatter the rate.
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	if _, err := io.Copy(w, newNoise(4<<20)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if z.Len() < 4<<20*99/100 {
		t.Errorf("4 MiB of noise gzip to %d bytes", z.Len())
	}
}

func TestMBPerSec(t *testing.T) {
	if got := mbPerSec(256<<20, 2*time.Second); got != 134.2 {
		t.Errorf("256 MiB in 2 s = %v MB/s, want 134.2", got)
	}
	if got := mbPerSec(1, 0); got != 0 {
		t.Errorf("no time: %v", got)
	}
}
