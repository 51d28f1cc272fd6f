package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// runKeys runs `soulbox keys args...` on dataDir's store, in-process.
func runKeys(t *testing.T, dataDir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := NewRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"keys", "--data-dir", dataDir}, args...))
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestKeysCreateAdminRefused(t *testing.T) {
	dir := serverDataDir(t)
	_, _, err := runKeys(t, dir, "create", "ops", "--admin")
	if err == nil || !strings.Contains(err.Error(), "--admin") || !strings.Contains(err.Error(), "--team") {
		t.Fatalf("keys create --admin: %v, want a refusal naming --admin and what to do instead", err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if keys, _ := st.ListAPIKeys(context.Background()); len(keys) != 0 {
		t.Errorf("a refused create stored %+v", keys)
	}

	// A team that does not exist is refused, not made.
	_, _, err = runKeys(t, dir, "create", "ci", "--team", "ci")
	if err == nil || !strings.Contains(err.Error(), "soulbox teams create") {
		t.Errorf("create for an unknown team: %v, want a refusal naming teams create", err)
	}
	if _, err := st.GetTeam(context.Background(), "ci"); err == nil {
		t.Error("the unknown team was made")
	}

	// A team key is still made, and is not an admin key.
	tout, err := runCLI(t, "teams", "--data-dir", dir, "create", "ci", "--json")
	var tm struct{ TeamID string }
	if err != nil || json.Unmarshal([]byte(tout), &tm) != nil || tm.TeamID == "" {
		t.Fatalf("teams create: %q, %v", tout, err)
	}
	out, _, err := runKeys(t, dir, "create", "ci", "--team", tm.TeamID, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ ID, Team, Key string }
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Team != tm.TeamID || got.Key == "" {
		t.Fatalf("create: %q, %v", out, err)
	}
	// Once the team is deleted, its id is not made again.
	if _, err := runCLI(t, "teams", "--data-dir", dir, "delete", tm.TeamID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runKeys(t, dir, "create", "again", "--team", tm.TeamID); err == nil || !strings.Contains(err.Error(), "no such team") {
		t.Errorf("create for a deleted team: %v, want a refusal", err)
	}
	keys, _ := st.ListAPIKeys(context.Background())
	if len(keys) != 1 || keys[0].Admin {
		t.Errorf("keys: %+v, want one team key", keys)
	}
}
