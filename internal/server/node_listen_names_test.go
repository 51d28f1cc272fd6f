package server_test

import (
	"crypto/tls"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server"
)

// TestNodeListenNames: a node dials the control plane by a name that is
// not this host's (a Kubernetes Service's, say) once --node-listen-names
// puts it in the node listener's certificate; the certificate holds the
// names given and the host's own.
func TestNodeListenNames(t *testing.T) {
	bin := buildServer(t, "")
	_, port, _ := net.SplitHostPort(freeAddr(t))
	c, _ := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = "0.0.0.0:" + port
		// 127.0.0.2 reaches this host's loopback, but is no address of
		// its interfaces: only the setting puts it in the certificate.
		cfg.NodeListenNames = "soulbox-nodes.soulbox.svc,127.0.0.2"
		cfg.NodeHeartbeatTimeout = 2 * time.Second
	})
	conn, err := tls.Dial("tcp", "127.0.0.2:"+port, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if !slices.Contains(leaf.DNSNames, "soulbox-nodes.soulbox.svc") || !slices.Contains(leaf.DNSNames, "localhost") ||
		!slices.Contains(ips, "127.0.0.2") || !slices.Contains(ips, "127.0.0.1") {
		t.Errorf("node listener certificate names %v %v, want the given names beside the host's", leaf.DNSNames, ips)
	}

	var tok nodeTokenJSON
	c.want(201, "POST", "/admin/node-tokens", map[string]any{"ttl": 600}, &tok)
	startNode(t, bin, "--control-plane", "https://127.0.0.2:"+port, "--join-token", tok.Token, "--data-dir", t.TempDir(), "--name", "node-by-name")
	waitNodeStatus(t, c, "node-by-name", "ready", 30*time.Second)
}
