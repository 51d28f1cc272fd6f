package nodeagent

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/nodetoken"
)

// join spends the token: a key and CSR made here, the control plane
// pinned by the token's CA fingerprint, the signed certificate kept. Of
// several control-plane replicas, the first that answers takes the join.
func join(ctx context.Context, cfg Config) error {
	tk, err := nodetoken.Parse(cfg.JoinToken)
	if err != nil {
		return err
	}
	urls, err := controlPlaneURLs(cfg.ControlPlane)
	if err != nil {
		return err
	}
	csr, err := newKey(cfg.DataDir, cfg.Name)
	if err != nil {
		return fmt.Errorf("node key: %w", err)
	}
	c := newReplicas(urls, cfg.Log, func(cp string) nodev1connect.NodeServiceClient {
		u, _ := url.Parse(cp)
		hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: nodeca.PinnedTLS(tk.CAFingerprint, u.Hostname()), ForceAttemptHTTP2: true}}
		return nodev1connect.NewNodeServiceClient(hc, cp)
	})
	res, err := c.Join(ctx, connect.NewRequest(&nodev1.JoinRequest{Token: tk.ID + "." + tk.Secret, Name: cfg.Name, CsrPem: csr}))
	if err != nil {
		return fmt.Errorf("join %s as %q: %w", strings.Join(urls, ","), cfg.Name, err)
	}
	return saveIdentity(cfg.DataDir, cfg.Name, strings.Join(urls, ","), res.Msg.GetCertificatePem(), res.Msg.GetServingCertificatePem(), res.Msg.GetCaPem())
}

// controlPlaneURL checks the --control-plane URL: https, a host, no path.
func controlPlaneURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("--control-plane %q: want https://host:port of the control plane's node listener: %w", s, errdefs.ErrInvalidArgument)
	}
	return u, nil
}

// mtlsClient is a joined node's client of the node service at cp: its
// own certificate, and only the node CA trusted; closeIdle ends its idle
// connections, so that the next call shakes hands with a renewed
// certificate.
func mtlsClient(id *identity, cp string) (c nodev1connect.NodeServiceClient, closeIdle func()) {
	u, _ := url.Parse(cp)
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	// The certificate is read at each handshake: a renewal replaces it.
	tc := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: id.ca, GetClientCertificate: id.clientCertificate, ServerName: host,
		VerifyConnection: nodeca.RequireControlPlane}
	tr := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	return nodev1connect.NewNodeServiceClient(hc, cp), tr.CloseIdleConnections
}
