package objstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
)

// TestCallTimeout: against an object storage that accepts connections
// and never answers, each call gives up at the configured timeout, with
// an error saying the object storage is unavailable, rather than after
// the client's retries of a minute each; a negative timeout is refused.
func TestCallTimeout(t *testing.T) {
	ctx := context.Background()
	srv := s3test.Start(t, "soulbox")
	h := s3test.StartHanger(t, srv)
	c := h.Config("soulbox")
	c.Timeout = time.Second
	s, err := objstore.Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	h.Hang()
	done := make(chan error, 1)
	go func() {
		_, err := s.GetRef(ctx, "layers/key-0000000000000000")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "no answer in time") {
			t.Errorf("a call the object storage never answers: %v; want unavailable, no answer in time", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a call the object storage never answers waits past a minute with a timeout of a second")
	}

	c.Timeout = -time.Second
	if _, err := objstore.Open(ctx, c); !errdefs.IsInvalidArgument(err) {
		t.Errorf("a negative timeout: %v; want invalid argument", err)
	}
}
