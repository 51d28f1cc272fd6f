package telemetry

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/pool"
)

type namedPool struct{}

func (namedPool) Pooled(string) bool                             { return true }
func (namedPool) Claim(string) (string, bool)                    { return "", false }
func (namedPool) Discard(context.Context, string, string, error) {}

// TestTemplateLabelsBounded: the templates the operator named keep their
// name in the claim and pool metrics; every team's own template is
// "other", its pools folded into one series, so no team's template name
// reaches an unauthenticated scrape and the label stays bounded.
func TestTemplateLabelsBounded(t *testing.T) {
	m := New()
	m.BoundTemplates(NewTemplateLabels(func(id string) bool { return id == "base" }))
	p := m.Pool(namedPool{})
	p.Claim("base")
	p.Claim("team-a-secret")
	p.Claim("team-b-secret")
	stats := []pool.Stats{
		{Template: "base", Ready: 2, Hits: 5},
		{Template: "team-a-secret", Ready: 1, Hits: 3, RefillMs: 900},
		{Template: "team-b-secret", Ready: 4, Hits: 1, RefillMs: 300},
	}
	if err := m.Register(m.PoolCollector(func() []pool.Stats { return stats })); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	if strings.Contains(text, "secret") {
		t.Errorf("a team's template name is a label:\n%s", grep(text, "secret"))
	}
	for _, want := range []string{
		`soulbox_pool_claim_duration_seconds_count{result="miss",template="base"} 1`,
		`soulbox_pool_claim_duration_seconds_count{result="miss",template="other"} 2`,
		`soulbox_pool_ready{template="base"} 2`,
		`soulbox_pool_ready{template="other"} 5`,
		`soulbox_pool_hits_total{template="other"} 4`,
		`soulbox_pool_refill_seconds{template="other"} 0.9`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in:\n%s", want, grep(text, "soulbox_pool"))
		}
	}
	// Without bounds every template is other.
	if got := (*TemplateLabels)(nil).Label("base"); got != OtherTemplates {
		t.Errorf("nil labels keep %q", got)
	}
}

func grep(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
