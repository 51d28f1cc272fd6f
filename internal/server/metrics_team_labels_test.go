package server_test

import (
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/server"
)

// TestTeamMetricsOptIn: by default the unauthenticated /metrics names no
// team; with MetricsTeamLabels a live sandbox's team is a series,
// labelled by the team's id.
func TestTeamMetricsOptIn(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	for _, on := range []bool{false, true} {
		c, _ := runServer(t, func(cfg *server.Config) { cfg.MetricsTeamLabels = on })
		var sb sandboxJSON
		c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sb)
		fams := families(t, c)
		var teams []string
		for name, f := range fams {
			if !strings.HasPrefix(name, "soulbox_team_") {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "team" {
						teams = append(teams, name+"/"+l.GetValue())
					}
				}
			}
		}
		if !on && len(teams) != 0 {
			t.Errorf("default /metrics names teams: %v", teams)
		}
		if on && value(fams, "soulbox_team_sandboxes", lbl{"team": sb.ClientID, "state": "running"}) != 1 {
			t.Errorf("with team labels, no running sandbox of team %q in %v", sb.ClientID, teams)
		}
		c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
	}
}
