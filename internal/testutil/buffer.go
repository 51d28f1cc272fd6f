package testutil

import (
	"bytes"
	"sync"
)

// Buffer collects what a process or logger writes while a test reads
// it: a bytes.Buffer safe for concurrent Write and String (exec copies a
// child's output on a goroutine of its own).
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
