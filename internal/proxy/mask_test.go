package proxy

import (
	"testing"
)

func TestMaskRequestHost(t *testing.T) {
	h := setup(t)
	for _, tc := range []struct {
		name, host, backend, want string
	}{
		{"user port", "8080-mask.sandbox.test", "mask-8080", "app.internal:8080"},
		{"agent keeps the host", "49983-mask.sandbox.test", "mask-agent", "49983-mask.sandbox.test"},
		{"unmasked sandbox", "8080-abc.sandbox.test", "abc-8080", "8080-abc.sandbox.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, request{host: tc.host})
			if r.code != 200 || r.echo.Backend != tc.backend || r.echo.Host != tc.want {
				t.Errorf("%d from %q, Host %q; want %s to see %q (%s)", r.code, r.echo.Backend, r.echo.Host, tc.backend, tc.want, r.body)
			}
		})
	}
}

func TestSoulBoxCredentialsStripped(t *testing.T) {
	h := setup(t)
	const key = "e2b_0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name       string
		header     map[string]string
		gone, kept string
	}{
		{"api key header", hdr("X-API-Key", key), "X-Api-Key", ""},
		{"api key as bearer", hdr("Authorization", "Bearer "+key), "Authorization", ""},
		{"other bearer kept", hdr("Authorization", "Bearer app-token"), "", "Authorization"},
		{"basic kept", hdr("Authorization", "Basic dXNlcjo="), "", "Authorization"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hd := map[string]string{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "8080"}
			for k, v := range tc.header {
				hd[k] = v
			}
			r := h.do(t, request{header: hd})
			if r.code != 200 {
				t.Fatalf("%d %s", r.code, r.body)
			}
			if tc.gone != "" && r.echo.Header.Get(tc.gone) != "" {
				t.Errorf("the sandbox saw %s: %q", tc.gone, r.echo.Header.Get(tc.gone))
			}
			if tc.kept != "" && r.echo.Header.Get(tc.kept) == "" {
				t.Errorf("%s was dropped", tc.kept)
			}
		})
	}
}
