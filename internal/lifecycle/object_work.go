package lifecycle

import (
	"context"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/logx"
)

// objectWork is the object-storage work that outlives the call that
// started it, so that no pause, resume or kill waits on object storage
// (each call of which may take objstore's timeout, minutes against an
// endpoint that accepts and never answers): a paused sandbox's
// checkpoint upload, and the deletion of a blob nothing names any more.
// Its zero value is ready.
type objectWork struct {
	mu      sync.Mutex
	uploads map[string]*checkpointUpload // sandbox -> its upload under way
	cancels map[*context.CancelFunc]bool // every piece of work under way
	stopped bool
	wg      sync.WaitGroup
}

// checkpointUpload is one sandbox's checkpoint upload under way.
type checkpointUpload struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// objectShutdownGrace is how long Stop lets object work under way
// finish before cancelling it: an upload cut short leaves its checkpoint
// on disk only (the sandbox stays paused, resumable here); a blob not
// deleted costs space in the bucket.
const objectShutdownGrace = 10 * time.Second

// goObjects runs fn in the background with a context Stop cancels, unless
// Stop was called; it returns fn's cancel and a channel closed when fn
// has returned, or nil when it did not run.
func (w *objectWork) goObjects(fn func(ctx context.Context)) (context.CancelFunc, chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	if w.cancels == nil {
		w.cancels = map[*context.CancelFunc]bool{}
	}
	key := &cancel
	w.cancels[key] = true
	done := make(chan struct{})
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer close(done)
		defer func() {
			w.mu.Lock()
			delete(w.cancels, key)
			w.mu.Unlock()
			cancel()
		}()
		fn(ctx)
	}()
	return cancel, done
}

// startUpload uploads the checkpoint of sandbox id, just paused on node
// ("": the embedded node), in the background (see uploadCheckpoint);
// stopUpload ends it.
func (m *Manager) startUpload(id, node string) {
	if m.objects == nil {
		return
	}
	w := &m.objWork
	// Registered before the upload starts, under the sandbox's
	// operation lock, so the next resume or kill finds it.
	u := &checkpointUpload{}
	w.mu.Lock()
	if w.uploads == nil {
		w.uploads = map[string]*checkpointUpload{}
	}
	w.uploads[id] = u
	w.mu.Unlock()
	cancel, done := w.goObjects(func(ctx context.Context) {
		m.uploadCheckpoint(ctx, id, node)
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	if done == nil { // stopping: the checkpoint stays on disk only
		delete(w.uploads, id)
		return
	}
	u.cancel, u.done = cancel, done
	go func() {
		<-done
		w.mu.Lock()
		if w.uploads[id] == u {
			delete(w.uploads, id)
		}
		w.mu.Unlock()
	}()
}

// stopUpload cancels the checkpoint upload of sandbox id under way, if
// any, and waits until it has returned (promptly: its archive and
// request are cancelled), so that a resume or kill, under the sandbox's
// operation lock, never removes a checkpoint an upload is reading, nor
// is followed by the record of an upload that finished after it. An
// upload recorded before it was cancelled is the caller's to drop.
func (m *Manager) stopUpload(id string) {
	w := &m.objWork
	w.mu.Lock()
	var cancel context.CancelFunc
	var done chan struct{}
	if u := w.uploads[id]; u != nil {
		cancel, done = u.cancel, u.done
	}
	w.mu.Unlock()
	if done == nil {
		return
	}
	cancel()
	<-done
}

// deleteBlobLater deletes checkpoint blob digest of sandbox id in the
// background; its record is already gone, so a failure leaves a blob
// nothing names, which is logged.
func (m *Manager) deleteBlobLater(id, digest string) {
	m.objWork.goObjects(func(ctx context.Context) {
		if err := m.objects.DeleteBlob(ctx, digest); err != nil {
			m.log.Warn("delete a used checkpoint from object storage; the blob stays in the bucket", logx.Sandbox(id), logx.Err(err))
		}
	})
}

// stop lets the work under way finish for up to grace, then cancels it
// and waits for it to return; no work starts after.
func (w *objectWork) stop(grace time.Duration) {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	w.mu.Lock()
	for c := range w.cancels {
		(*c)()
	}
	w.mu.Unlock()
	<-done
}
