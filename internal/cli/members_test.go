package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/signin/oidctest"
)

// TestMembersAndOIDCLogin: an admin manages a team's members with
// `soulbox members`; a member signs in with `soulbox auth login --oidc`
// (the device code grant at a local issuer, approved as the user would
// on its page), and later commands work with the saved token until the
// membership is removed.
func TestMembersAndOIDCLogin(t *testing.T) {
	is := oidctest.New(t, "soulbox-cli")
	e := newCLIEnvWith(t, func(c *server.Config) {
		c.OIDC = server.OIDCConfig{Issuer: is.URL, ClientID: "soulbox-cli"}
	})
	// A team made through the admin API.
	req, _ := http.NewRequest("POST", e.url+"/admin/teams", strings.NewReader(`{"name":"cli-team"}`))
	req.Header.Set("X-API-Key", e.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tm struct{ TeamID string }
	_ = json.NewDecoder(resp.Body).Decode(&tm)
	resp.Body.Close()
	if resp.StatusCode != 201 || tm.TeamID == "" {
		t.Fatalf("create team: %d %+v", resp.StatusCode, tm)
	}

	var m struct{ ID, Email, Role, TeamID string }
	out, errOut, code := e.run(t, "", "members", "add", "Ada@Example.com", "--role", "admin", "--team", tm.TeamID, "--json")
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil || m.Email != "ada@example.com" || m.Role != "admin" || m.TeamID != tm.TeamID {
		t.Fatalf("members add: %d %s %s", code, out, errOut)
	}
	if _, errOut, code := e.run(t, "", "members", "add", "not-an-address", "--team", tm.TeamID); code == 0 || !strings.Contains(errOut, "email") {
		t.Errorf("members add of a bad email: %d %s", code, errOut)
	}
	if _, errOut, code := e.run(t, "", "members", "set-role", "ada@example.com", "root", "--team", tm.TeamID); code == 0 || !strings.Contains(errOut, "role") {
		t.Errorf("members set-role root: %d %s", code, errOut)
	}
	out, errOut, code = e.run(t, "", "members", "set-role", "ada@example.com", "owner", "--team", tm.TeamID, "--json")
	if code != 0 || !strings.Contains(out, `"role":"owner"`) {
		t.Errorf("members set-role: %d %s %s", code, out, errOut)
	}
	if _, errOut, code := e.run(t, "", "members", "remove", "ada@example.com", "--team", tm.TeamID); code == 0 || !strings.Contains(errOut, "last owner") {
		t.Errorf("removing the last owner: %d %s", code, errOut)
	}
	var list []struct{ Email, Role string }
	out, _, code = e.run(t, "", "members", "list", "--team", tm.TeamID, "--json")
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].Role != "owner" {
		t.Fatalf("members list: %d %s", code, out)
	}

	// Ada signs in on her machine, with no key.
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "PATH=" + os.Getenv("PATH")}
	login := exec.Command(e.bin, "auth", "login", "--oidc", "--server", e.url, "--token-ttl", "1h")
	login.Env = env
	stderr, err := login.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := login.Start(); err != nil {
		t.Fatal(err)
	}
	var printed bytes.Buffer
	lines := bufio.NewScanner(io.TeeReader(stderr, &printed))
	codeRe := regexp.MustCompile(`open (\S+) and enter the code (\S+)`)
	for lines.Scan() {
		if sub := codeRe.FindStringSubmatch(lines.Text()); sub != nil {
			if sub[1] != is.URL+"/activate" {
				t.Errorf("verification URL %q", sub[1])
			}
			// Polled, and told to wait, before the user approves.
			for deadline := time.Now().Add(30 * time.Second); is.Polls() < 1; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					login.Process.Kill()
					t.Fatalf("login --oidc never polled the token endpoint:\n%s", printed.String())
				}
			}
			if err := is.Approve(sub[2], "ada@example.com"); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	rest, _ := io.ReadAll(stderr)
	printed.Write(rest)
	if err := login.Wait(); err != nil {
		t.Fatalf("login --oidc: %v\n%s", err, printed.String())
	}
	if !strings.Contains(printed.String(), "signed in as ada@example.com, owner of team "+tm.TeamID) || is.Polls() < 2 {
		t.Errorf("login --oidc printed %q after %d polls", printed.String(), is.Polls())
	}
	runAsAda := func(args ...string) (string, int) {
		cmd := exec.Command(e.bin, args...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), ee.ExitCode()
		}
		return out.String(), 0
	}
	if out, code := runAsAda("members", "list", "--json"); code != 0 || !strings.Contains(out, "ada@example.com") {
		t.Errorf("members list as ada: %d %s", code, out)
	}
	// Another owner, then ada's membership removed: her token stops.
	if out, errOut, code := e.run(t, "", "members", "add", "bob@example.com", "--role", "owner", "--team", tm.TeamID); code != 0 {
		t.Fatalf("members add bob: %s %s", out, errOut)
	}
	if out, errOut, code := e.run(t, "", "members", "remove", "ada@example.com", "--team", tm.TeamID); code != 0 {
		t.Fatalf("members remove: %s %s", out, errOut)
	}
	if out, code := runAsAda("sandbox", "list"); code == 0 || !strings.Contains(out, "no longer a member") {
		t.Errorf("sandbox list after ada was removed: %d %s", code, out)
	}
}
