package server_test

import (
	"testing"
)

// A fork of a sandbox with private traffic has its own traffic token:
// the interpreter's context routes, which its restored agent guards,
// refuse the source's and take the fork's.
func TestForkHasItsOwnTrafficToken(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, _ := runServer(t, nil)
	src := create(t, c, map[string]any{"timeout": 300, "network": map[string]any{"allowPublicTraffic": false}})
	defer c.do("DELETE", "/sandboxes/"+src.SandboxID, nil)
	var res []forkResultJSON
	c.want(201, "POST", "/sandboxes/"+src.SandboxID+"/fork", map[string]any{"count": 1, "timeout": 120}, &res)
	if len(res) != 1 || res[0].Sandbox == nil {
		t.Fatalf("fork: %+v", res)
	}
	f := *res[0].Sandbox
	defer c.do("DELETE", "/sandboxes/"+f.SandboxID, nil)
	if tokenOf(f) == "" || tokenOf(f) == tokenOf(src) {
		t.Fatalf("fork traffic token %q, source's %q: want its own", tokenOf(f), tokenOf(src))
	}
	body := `{"language":"python"}`
	if code, out := proxiedDo(t, c, "POST", "/contexts", body, f.SandboxID, "49999", "E2B-Traffic-Access-Token", tokenOf(src)); code != 401 {
		t.Errorf("the fork's contexts with the source's traffic token: %d %s, want 401", code, out)
	}
	if code, out := proxiedDo(t, c, "POST", "/contexts", body, f.SandboxID, "49999", "E2B-Traffic-Access-Token", tokenOf(f)); code != 200 {
		t.Errorf("the fork's contexts with its own traffic token: %d %s", code, out)
	}
	if code, out := proxiedDo(t, c, "POST", "/contexts", body, src.SandboxID, "49999", "E2B-Traffic-Access-Token", tokenOf(f)); code != 401 {
		t.Errorf("the source's contexts with the fork's traffic token: %d %s, want 401", code, out)
	}
}
