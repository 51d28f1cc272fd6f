package server_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/server"
)

type readyJSON struct {
	Status string `json:"status"`
	Checks []struct {
		Name    string `json:"name"`
		OK      bool   `json:"ok"`
		Message string `json:"message"`
	} `json:"checks"`
}

// waitReady polls GET /ready, without a key, until the template check
// passes, and returns the last answer.
func waitReady(t *testing.T, c apiClient) (int, readyJSON) {
	t.Helper()
	c.key = ""
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, body, _ := c.do("GET", "/ready", nil)
		var r readyJSON
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("/ready: %d %s: %v", code, body, err)
		}
		for _, ck := range r.Checks {
			if ck.Name == "template" && ck.OK {
				return code, r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the template never became ready: %d %+v", code, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReady(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	t.Run("ready", func(t *testing.T) {
		c, _ := runServer(t, nil)
		code, r := waitReady(t, c)
		if code != 200 || r.Status != "ready" {
			t.Fatalf("/ready = %d %+v, want 200 ready", code, r)
		}
		var names []string
		for _, ck := range r.Checks {
			names = append(names, ck.Name)
			if !ck.OK || ck.Message == "" {
				t.Errorf("check %+v", ck)
			}
		}
		if got := strings.Join(names, ","); got != "store,runtime,template,disk" {
			t.Errorf("checks %s", got)
		}
	})
	t.Run("disk below the threshold", func(t *testing.T) {
		// More free space than any disk has.
		c, cfg := runServer(t, func(cfg *server.Config) { cfg.ReadyMinFreeMB = 1 << 30 })
		code, r := waitReady(t, c)
		// Unauthenticated: the reasons, not the host's paths.
		if b, _ := json.Marshal(r); strings.Contains(string(b), cfg.DataDir) {
			t.Errorf("/ready shows the data dir %s: %s", cfg.DataDir, b)
		}
		if code != 503 || r.Status != "not ready" {
			t.Fatalf("/ready = %d %+v, want 503 not ready", code, r)
		}
		for _, ck := range r.Checks {
			if ck.OK == (ck.Name == "disk") {
				t.Errorf("check %+v", ck)
			}
			if ck.Name == "disk" && !strings.Contains(ck.Message, "disk nearly full") {
				t.Errorf("disk check says %q", ck.Message)
			}
		}
		// Liveness is not readiness.
		c.want(200, "GET", "/health", nil, nil)
	})
}

func TestReadyMinFreeValidated(t *testing.T) {
	cfg := server.Defaults()
	cfg.ReadyMinFreeMB = -1
	if err := cfg.Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "ready min free") {
		t.Errorf("Validate = %v", err)
	}
	cfg = server.Defaults().FromEnv(func(k string) string {
		if k == "SOULBOX_READY_MIN_FREE_MB" {
			return "lots"
		}
		return ""
	})
	if err := cfg.Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("SOULBOX_READY_MIN_FREE_MB=lots: Validate = %v", err)
	}
}
