// Package deploy_test checks the monitoring files shipped in deploy/: the
// Prometheus alerting rules with promtool's unit tests, and the Grafana
// dashboard's queries, against the metrics the server defines.
package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// promtool finds promtool, which the Debian package prometheus ships and
// scripts/setup.sh installs.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus, as scripts/setup.sh does)")
	}
	return p
}

func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

// TestAlertRules checks the rules and runs their unit tests: each alert
// fires on the series that should fire it, and not on the others.
func TestAlertRules(t *testing.T) {
	p := promtool(t)
	run(t, "prometheus", p, "check", "rules", "alerts.yml")
	run(t, "prometheus", p, "test", "rules", "alerts_test.yml")
}

type dashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile("grafana/soulbox.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana/soulbox.json: %v", err)
	}
	return d
}

// TestDashboardQueriesParse has promtool parse every query of the
// dashboard, with Grafana's variables given values, as recording rules.
func TestDashboardQueriesParse(t *testing.T) {
	p := promtool(t)
	d := readDashboard(t)
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, panel := range d.Panels {
		if panel.Type != "row" && len(panel.Targets) == 0 {
			t.Errorf("panel %q has no query", panel.Title)
		}
		for _, tg := range panel.Targets {
			expr := strings.NewReplacer("$__rate_interval", "5m", "$instance", ".*").Replace(tg.Expr)
			q, _ := json.Marshal(expr)
			fmt.Fprintf(&rules, "      - record: dashboard:q%d\n        expr: %s\n", n, q)
			n++
		}
	}
	if n < 10 {
		t.Fatalf("the dashboard has %d queries", n)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard.yml"), []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, p, "check", "rules", "dashboard.yml")
}

// TestMonitoringNamesExist: every soulbox_ metric the rules and the
// dashboard query is one the server defines, so a renamed metric cannot
// leave an alert that never fires.
func TestMonitoringNamesExist(t *testing.T) {
	var src strings.Builder
	files, _ := filepath.Glob("../internal/telemetry/*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	if src.Len() == 0 {
		t.Fatal("no telemetry sources found")
	}
	name := regexp.MustCompile(`soulbox_[a-z_]+`)
	for _, f := range []string{"prometheus/alerts.yml", "prometheus/alerts_test.yml", "grafana/soulbox.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range name.FindAllString(string(b), -1) {
			base := m
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				base = strings.TrimSuffix(base, suffix)
			}
			if !strings.Contains(src.String(), `"`+base+`"`) {
				t.Errorf("%s queries %s, which the server does not define", f, m)
			}
		}
	}
}
