package tenancy

import (
	"errors"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func TestAdmit(t *testing.T) {
	q := store.Quota{Sandboxes: 2, CPUs: 4, MemoryMB: 2048}
	for _, tc := range []struct {
		name      string
		q         store.Quota
		u         Usage
		cpus, mem int
		msg       string // "" admits
	}{
		{"empty", q, Usage{}, 2, 1024, ""},
		{"last place", q, Usage{1, 2, 1024}, 2, 1024, ""},
		{"sandboxes", q, Usage{2, 2, 1024}, 1, 512, "quota of 2 concurrent sandboxes"},
		{"vcpus", q, Usage{1, 3, 512}, 2, 512, "quota of 4 vCPUs"},
		{"memory", q, Usage{1, 1, 1536}, 1, 1024, "quota of 2048 MiB memory"},
		{"no quota", store.Quota{}, Usage{1000, 1000, 1 << 20}, 8, 8192, ""},
	} {
		err := Admit(tc.q, tc.u, tc.cpus, tc.mem)
		if tc.msg == "" && err != nil {
			t.Errorf("%s: %v, want admitted", tc.name, err)
		}
		if tc.msg != "" && (!errors.Is(err, errdefs.ErrResourceExhausted) || !strings.Contains(err.Error(), tc.msg)) {
			t.Errorf("%s: %v, want resource exhausted saying %q", tc.name, err, tc.msg)
		}
	}
}
