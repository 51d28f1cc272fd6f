package runtime

import (
	"strings"
	"testing"
)

func TestAllowsName(t *testing.T) {
	p := NetworkPolicy{AllowDomains: []string{"example.com", "*.wild.test"}}
	for name, want := range map[string]bool{
		"example.com": true, "EXAMPLE.com.": true, "www.example.com": false, "ample.com": false,
		"a.wild.test": true, "a.b.wild.test": true, "wild.test": false, "xwild.test": false, "": false,
	} {
		if got := p.AllowsName(name); got != want {
			t.Errorf("AllowsName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestNetworkPolicyValidate(t *testing.T) {
	many := make([]string, MaxNetworkRules+1)
	for i := range many {
		many[i] = "a.test"
	}
	for _, tc := range []struct {
		p    NetworkPolicy
		want string
	}{
		{NetworkPolicy{AllowDomains: []string{"Upper.test"}}, `"Upper.test"`},
		{NetworkPolicy{AllowDomains: []string{"*.*.test"}}, `"*.*.test"`},
		{NetworkPolicy{AllowDomains: []string{strings.Repeat("a.", 127) + "test"}}, "allowOut entry"},
		{NetworkPolicy{AllowDomains: many}, "at most"},
		{NetworkPolicy{Limits: NetworkLimits{EgressMbps: -1}}, "egressMbps -1"},
		{NetworkPolicy{Limits: NetworkLimits{MaxConnections: MaxNetworkConnections + 1}}, "maxConnections"},
	} {
		if err := tc.p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", tc.p, err, tc.want)
		}
	}
	ok := NetworkPolicy{AllowDomains: []string{"a-b.example.com", "*.example.com", "x1.test"}, Limits: NetworkLimits{EgressMbps: 1, IngressMbps: MaxNetworkMbps, MaxConnections: 1}}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
}
