package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsCLI: `soulbox secrets` creates a secret from stdin or a
// file, never showing the value, lists it with --json, updates and
// deletes it; a create without --value-file is refused before anything
// is sent.
func TestSecretsCLI(t *testing.T) {
	e := newCLIEnv(t)
	const value = "sk-cli-0123456789"
	out, errOut, code := e.run(t, value+"\n", "secrets", "create", "OPENAI_KEY", "--value-file", "-", "--allow", "api.openai.com,*.openai.com",
		"--description", "for the agent", "--json")
	if code != 0 || strings.Contains(out+errOut, value) {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	var created struct {
		ID        string   `json:"id"`
		Label     string   `json:"label"`
		Allowlist []string `json:"allowlist"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Label != "OPENAI_KEY" || len(created.Allowlist) != 2 {
		t.Fatalf("create printed %q: %v", out, err)
	}

	// Refused: no value file, an empty value, a duplicate label.
	if _, errOut, code := e.run(t, "", "secrets", "create", "X"); code == 0 || !strings.Contains(errOut, "--value-file is required") {
		t.Errorf("create without --value-file: %d %s", code, errOut)
	}
	if _, errOut, code := e.run(t, "\n", "secrets", "create", "X", "--value-file", "-"); code == 0 || !strings.Contains(errOut, "empty") {
		t.Errorf("create with an empty value: %d %s", code, errOut)
	}
	if _, errOut, code := e.run(t, "v", "secrets", "create", "OPENAI_KEY", "--value-file", "-"); code == 0 || !strings.Contains(errOut, "409") {
		t.Errorf("create a duplicate label: %d %s", code, errOut)
	}

	file := filepath.Join(t.TempDir(), "new.txt")
	if err := os.WriteFile(file, []byte("rotated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := e.run(t, "", "secrets", "update", created.ID, "--label", "OPENAI", "--value-file", file); code != 0 || !strings.Contains(out, "OPENAI") {
		t.Errorf("update: %d %s %s", code, out, errOut)
	}
	out, errOut, code = e.run(t, "", "secrets", "list", "--json")
	var list []struct{ ID, Label, Description string }
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].Label != "OPENAI" || list[0].Description != "for the agent" {
		t.Errorf("list: %d %s %s", code, out, errOut)
	}
	if strings.Contains(out, value) || strings.Contains(out, "rotated") {
		t.Errorf("list shows a value: %s", out)
	}
	if _, errOut, code := e.run(t, "", "secrets", "delete", created.ID); code != 0 {
		t.Errorf("delete: %d %s", code, errOut)
	}
	if out, _, _ := e.run(t, "", "secrets", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("list after delete: %s", out)
	}
	if _, errOut, code := e.run(t, "", "secrets", "delete", created.ID); code == 0 || !strings.Contains(errOut, "404") {
		t.Errorf("delete twice: %d %s", code, errOut)
	}
}
