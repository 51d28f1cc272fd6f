package server

import (
	"strings"
	"testing"
)

func TestConfigTLSFromEnv(t *testing.T) {
	env := map[string]string{"SOULBOX_TLS": "acme", "SOULBOX_ACME_DIRECTORY": "https://acme.test/dir",
		"SOULBOX_ACME_EMAIL": "ops@sb.test", "SOULBOX_ACME_CA": "/etc/acme-ca.pem"}
	c := Defaults().FromEnv(func(k string) string { return env[k] })
	if c.TLS.Mode != "acme" || c.TLS.ACMEDirectory != "https://acme.test/dir" || c.TLS.ACMEEmail != "ops@sb.test" || c.TLS.ACMECAFile != "/etc/acme-ca.pem" {
		t.Errorf("FromEnv: %+v", c.TLS)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	env = map[string]string{"SOULBOX_TLS_CERT": "/etc/cert.pem"}
	c = Defaults().FromEnv(func(k string) string { return env[k] })
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--tls-key") {
		t.Errorf("Validate with a certificate and no key = %v, want it to ask for --tls-key", err)
	}
}

func TestConfigHTTPSListen(t *testing.T) {
	for _, tc := range []struct {
		mode, listen, https, want string
	}{
		{"", "127.0.0.1:3000", "", ""},
		{"self-signed", "127.0.0.1:3000", "", "127.0.0.1:443"},
		{"self-signed", "0.0.0.0:3000", "", "0.0.0.0:443"},
		{"self-signed", ":443", "", ""},
		{"self-signed", "127.0.0.1:3000", "off", ""},
		{"self-signed", "127.0.0.1:3000", "127.0.0.1:8443", "127.0.0.1:8443"},
	} {
		c := Defaults()
		c.TLS.Mode, c.Listen, c.HTTPSListen = tc.mode, tc.listen, tc.https
		if got := c.httpsListen(); got != tc.want {
			t.Errorf("tls %q listen %q https-listen %q: second listener %q, want %q", tc.mode, tc.listen, tc.https, got, tc.want)
		}
	}
	c := Defaults()
	c.TLS.Mode = "self-signed"
	c.HTTPSListen = "443"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "want host:port") {
		t.Errorf("Validate(https-listen 443) = %v, want it to ask for host:port", err)
	}
	c = Defaults()
	c.HTTPSListen = "0.0.0.0:443"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "needs TLS") {
		t.Errorf("Validate(https-listen without TLS) = %v, want it to ask for TLS", err)
	}
}
