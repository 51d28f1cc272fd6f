package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/runtime/oci"
)

// describeMachine describes the machine the bench runs on, and the server
// as its health endpoint describes itself. What cannot be read stays
// empty: the description is context for the numbers, not a measurement.
func describeMachine(ctx context.Context, cl *client.Client) Machine {
	m := Machine{CPUs: runtime.NumCPU()}
	if kb, err := meminfo("MemTotal"); err == nil {
		m.MemoryMiB = kb >> 10
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	h, _ := serverHealth(ctx, cl)
	m.ServerVersion, m.ServerRuntime = h.Version, h.Runtime
	if h, err := oci.DetectHostRuntime(serverRuntime(m.ServerRuntime)); err == nil {
		m.Runtime, m.RuntimeVersion, m.CgroupVersion = h.Name, h.Version, h.Cgroups
	} else if h.Cgroups != "" {
		m.CgroupVersion = h.Cgroups
	}
	return m
}

// health is what the bench reads of the server's GET /health, which
// needs no key.
type health struct {
	Version string      `json:"version"`
	Runtime string      `json:"runtime"`
	Pool    []poolStats `json:"pool"`
}

// poolStats is what the bench reads of a template's pool.
type poolStats struct {
	Template string `json:"template"`
	Ready    int    `json:"ready"`
}

// serverHealth reads GET /health; ok is false when it could not.
func serverHealth(ctx context.Context, cl *client.Client) (h health, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(cl.BaseURL, "/")+"/health", nil)
	if err != nil {
		return h, false
	}
	hc := cl.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return h, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&h) != nil {
		return health{}, false
	}
	return h, true
}

// memAvailable is this machine's MemAvailable in bytes.
func memAvailable() (int64, error) {
	kb, err := meminfo("MemAvailable")
	return kb << 10, err
}

// meminfo reads one field of /proc/meminfo, in kB.
func meminfo(field string) (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read memory of this machine: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/meminfo %s: %w", field, err)
		}
		return kb, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read memory of this machine: %w", err)
	}
	return 0, fmt.Errorf("/proc/meminfo has no %s", field)
}
