package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
	"github.com/soulbox/soulbox/internal/testutil"
)

// TestReplicasTeamQuota: creates of one team racing through two
// control-plane replicas on one PostgreSQL take exactly the team's
// quota of places; the rest are refused with 429 and leave nothing.
func TestReplicasTeamQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	testutil.RequiresRoot(t)
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	keysDir := t.TempDir()
	adminKey, _, _ := auth.Generate()
	bin := buildServer(t, "")
	cfgA := replicaConfig(t, url, keysDir, adminKey)
	addrA, stopA := serveInProcess(t, cfgA)
	t.Cleanup(func() { _ = stopA() })
	cfgB := replicaConfig(t, url, keysDir, adminKey)
	addrB, stopB := serveInProcess(t, cfgB)
	t.Cleanup(func() { _ = stopB() })
	a := apiClient{t: t, base: "http://" + addrA, key: adminKey}
	b := apiClient{t: t, base: "http://" + addrB, key: adminKey}
	n, _ := joinRunningNode(t, a, bin, "https://"+cfgA.NodeListen+",https://"+cfgB.NodeListen, "node-quota", freeAddr(t), "10.247.119.0/24")
	// Both replicas place on the node once their view of it is ready.
	deadline := time.Now().Add(20 * time.Second)
	for nodeStatus(a, "node-quota") != "ready" || nodeStatus(b, "node-quota") != "ready" {
		if time.Now().After(deadline) {
			t.Fatalf("the node is not ready on both replicas\nnode:\n%s", n.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // each registry re-reads the nodes once a second

	const quota, racers = 2, 16
	tm, keys := newTeam(t, a, "replica-race", "developer")
	devA := keys["developer"]
	devB := apiClient{t: t, base: b.base, key: devA.key}
	a.want(200, "PUT", "/admin/teams/"+tm.TeamID+"/quota", map[string]any{"sandboxes": quota}, nil)

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		codes   = map[int]int{}
		created []string
		start   = make(chan struct{})
	)
	for i := range racers {
		c := devA
		if i%2 == 1 {
			c = devB
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, body, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 120})
			mu.Lock()
			defer mu.Unlock()
			codes[code]++
			switch code {
			case 201:
				var sb struct {
					SandboxID string `json:"sandboxID"`
				}
				if err := json.Unmarshal(body, &sb); err != nil {
					t.Error(err)
				}
				created = append(created, sb.SandboxID)
			case 429:
				if !strings.Contains(string(body), "team quota of 2 concurrent sandboxes") {
					t.Errorf("429 without the quota named: %s", body)
				}
			default:
				t.Errorf("create = %d %s", code, body)
			}
		}()
	}
	close(start)
	wg.Wait()
	if codes[201] != quota || codes[429] != racers-quota {
		t.Errorf("answers %v, want %d created and %d refused with 429\nnode:\n%s", codes, quota, racers-quota, n.stderr)
	}
	var listed []listedJSON
	devB.want(200, "GET", "/v2/sandboxes", nil, &listed)
	if len(listed) != len(created) {
		t.Errorf("the team lists %d sandboxes, %d were created", len(listed), len(created))
	}
	// Killed through A, each end is on B's event stream at once: B hears
	// of A's events from the database (LISTEN/NOTIFY), not at its next
	// read of the log, up to 5 s later (api's eventsRecheck). The bound,
	// 2 s, leaves a loaded host time for the notification's way (NOTIFY,
	// listener, stream, client) while a stream that only rechecked would
	// miss it for one of the two sandboxes five times in six.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var events eventLog
	_, ch := openEvents(t, ctx, b.base, devA.key, "", "")
	go events.follow(ch)
	for _, id := range created {
		events.wait(t, id, "created", 10*time.Second)
	}
	for _, id := range created {
		devA.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
		killed := time.Now()
		events.wait(t, id, "ended", 10*time.Second)
		if took := time.Since(killed); took > 2*time.Second {
			t.Errorf("B's stream saw the end of %s through A %v after the kill; want within 2 s, before the 5 s recheck", id, took.Round(time.Millisecond))
		}
	}
}
