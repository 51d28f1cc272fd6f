package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

func runCLI(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	root := NewRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestTeamsAndScopedKeys(t *testing.T) {
	dir := serverDataDir(t)
	out, err := runCLI(t, "teams", "--data-dir", dir, "create", "Data science", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var tm teamJSON
	if err := json.Unmarshal([]byte(out), &tm); err != nil || !strings.HasPrefix(tm.TeamID, "team_") || tm.Name != "Data science" {
		t.Fatalf("teams create: %q, %v", out, err)
	}
	out, _, err = runKeys(t, dir, "create", "runner", "--team", tm.TeamID, "--role", "developer", "--scope", "sandboxes:create,sandboxes:use", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Team, Role string
		Scopes     []string
	}
	if err := json.Unmarshal([]byte(out), &k); err != nil || k.Team != tm.TeamID || k.Role != "developer" || strings.Join(k.Scopes, " ") != "sandboxes:create sandboxes:use" {
		t.Fatalf("keys create: %q, %v", out, err)
	}
	for _, bad := range [][]string{
		{"create", "x", "--team", tm.TeamID, "--role", "root"},
		{"create", "x", "--team", tm.TeamID, "--scope", "everything"},
	} {
		if _, _, err := runKeys(t, dir, bad...); err == nil {
			t.Errorf("keys %v: no error", bad)
		}
	}
	out, err = runCLI(t, "quotas", "--data-dir", dir, "set", tm.TeamID, "--sandboxes", "3", "--memory-mb", "2048", "--json")
	var q quotaOut
	if err != nil || json.Unmarshal([]byte(out), &q) != nil || q.Quota.Sandboxes != 3 || q.Quota.MemoryMB != 2048 || q.Quota.CPUs != 0 {
		t.Errorf("quotas set: %q, %v", out, err)
	}
	if _, err := runCLI(t, "quotas", "--data-dir", dir, "set", tm.TeamID, "--cpus", "-1"); err == nil {
		t.Error("a negative quota was taken")
	}
	out, err = runCLI(t, "quotas", "--data-dir", dir, "set", tm.TeamID, "--disk-bytes", "1048576", "--build-minutes", "90", "--json")
	q = quotaOut{}
	if err != nil || json.Unmarshal([]byte(out), &q) != nil || q.Quota.DiskBytes != 1048576 || q.Quota.BuildMinutes != 90 ||
		q.BuildWindowDays != 30 || q.Usage.DiskBytes != 0 || q.Usage.BuildMinutes != 0 {
		t.Errorf("quotas set disk and build minutes: %q, %v", out, err)
	}
	// Limits not given stay as they were; a 0 given lifts that one.
	if q.Quota.Sandboxes != 3 || q.Quota.MemoryMB != 2048 {
		t.Errorf("quotas set of disk and build minutes changed the others: %q", out)
	}
	out, err = runCLI(t, "quotas", "--data-dir", dir, "set", tm.TeamID, "--sandboxes", "0", "--json")
	q = quotaOut{}
	if err != nil || json.Unmarshal([]byte(out), &q) != nil || q.Quota.Sandboxes != 0 || q.Quota.MemoryMB != 2048 || q.Quota.DiskBytes != 1048576 || q.Quota.BuildMinutes != 90 {
		t.Errorf("quotas set --sandboxes 0: %q, %v; want only sandboxes lifted", out, err)
	}
	if _, err := runCLI(t, "quotas", "--data-dir", dir, "set", "no-such-team", "--sandboxes", "1"); err == nil {
		t.Error("quotas set of an unknown team: no error")
	}
	out, err = runCLI(t, "quotas", "--data-dir", dir, "show", tm.TeamID)
	if err != nil || !strings.Contains(out, "template disk bytes") || !strings.Contains(out, "1048576") || !strings.Contains(out, "build min (30 days)") {
		t.Errorf("quotas show: %q, %v", out, err)
	}
	if _, err := runCLI(t, "quotas", "--data-dir", dir, "set", tm.TeamID, "--build-minutes", "-1"); err == nil {
		t.Error("negative build minutes were taken")
	}
	if _, err := runCLI(t, "teams", "--data-dir", dir, "delete", store.AdminTeam); err == nil || !strings.Contains(err.Error(), "built-in") {
		t.Errorf("deleting the built-in team: %v", err)
	}
	if _, err := runCLI(t, "teams", "--data-dir", dir, "delete", tm.TeamID); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, _ := st.ListAPIKeys(context.Background())
	if len(keys) != 1 || keys[0].RevokedAt == nil {
		t.Errorf("keys after the team's delete: %+v, want its one key revoked", keys)
	}
	out, err = runCLI(t, "teams", "--data-dir", dir, "list", "--json")
	var teams []teamJSON
	if err != nil || json.Unmarshal([]byte(out), &teams) != nil || len(teams) != 1 || teams[0].TeamID != store.AdminTeam {
		t.Errorf("teams list: %q, %v", out, err)
	}
}
