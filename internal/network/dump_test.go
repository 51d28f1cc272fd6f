package network

import (
	"errors"
	"testing"

	"github.com/vishvananda/netlink"
)

// TestRetryDump: a dump a concurrent change interrupted is made again,
// and only an interruption is; one interrupted every time gives up.
func TestRetryDump(t *testing.T) {
	calls := 0
	v, err := retryDump(func() (int, error) {
		calls++
		if calls < 3 {
			return 0, netlink.ErrDumpInterrupted
		}
		return 7, nil
	})
	if v != 7 || err != nil || calls != 3 {
		t.Errorf("interrupted twice: %d, %v after %d calls; want 7 after 3", v, err, calls)
	}
	other := errors.New("no permission")
	calls = 0
	if _, err := retryDump(func() (int, error) { calls++; return 0, other }); !errors.Is(err, other) || calls != 1 {
		t.Errorf("another error: %v after %d calls; want it after 1", err, calls)
	}
	calls = 0
	if _, err := retryDump(func() (int, error) { calls++; return 0, netlink.ErrDumpInterrupted }); !errors.Is(err, netlink.ErrDumpInterrupted) || calls != dumpRetries {
		t.Errorf("always interrupted: %v after %d calls; want it after %d", err, calls, dumpRetries)
	}
}
