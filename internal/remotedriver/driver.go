// Package remotedriver is the control plane's side of a joined node's
// sandbox service (api/node/v1 SandboxService; internal/nodeservice is
// the node's): a runtime driver whose every call is a call to the node,
// over mutual TLS, with errors back in their errdefs category. It
// implements what lifecycle needs of a driver (runtime.Driver and
// runtime.Dialer) and the abilities runtime.Updater, runtime.LogReader,
// runtime.UserKiller, runtime.Recreator, runtime.NetworkRepairer,
// runtime.CheckpointKeeper (the node keeps its checkpoints) and
// runtime.CloneKeeper (a fork's clone checkpoint stays on the node,
// which restores the forks); a checkpoint or clone into a path the
// control plane names, and network policy changes, stay with the
// embedded node for now.
package remotedriver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/nodeservice"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Config says which node to reach and how.
type Config struct {
	// Node is the node's name: its serving certificate must name it.
	Node string
	// Addr is the host:port of the node's sandbox service.
	Addr string
	// ClientCert is the control plane's client certificate, and CA the
	// node CA's pool that signed the node's serving certificate.
	ClientCert tls.Certificate
	CA         *x509.CertPool
	// GetClientCertificate, if set, is asked for the client certificate
	// at each handshake instead of ClientCert (one that is renewed:
	// nodeca.ControlPlaneCertificates).
	GetClientCertificate func(*tls.CertificateRequestInfo) (*tls.Certificate, error)
	// Unreachable, if set, is told of each call that failed to reach the
	// node (connecting or the TLS handshake failed), not of the node's
	// answers: the control plane's placement then skips the node.
	Unreachable func(err error)
	// KeyFingerprint, when set, pins the node's serving certificate to
	// the key the node joined with (nodeca.SPKIFingerprint): one the CA
	// signed for the same name with another key (an earlier join of that
	// name) is refused at the handshake. The control plane always sets
	// it (registry.Service).
	KeyFingerprint string
}

// Driver is a joined node's driver.
type Driver struct {
	node  string
	c     nodev1connect.SandboxServiceClient
	dials nodev1connect.SandboxServiceClient // Dial streams only

	mu   sync.Mutex
	name string // the node driver's, once read

	unreachable func(error)
}

var (
	_ runtime.Driver     = (*Driver)(nil)
	_ runtime.Dialer     = (*Driver)(nil)
	_ runtime.Updater    = (*Driver)(nil)
	_ runtime.LogReader  = (*Driver)(nil)
	_ runtime.UserKiller = (*Driver)(nil)
)

// New returns the driver of the node cfg names; it dials nothing yet.
func New(cfg Config) (*Driver, error) {
	if cfg.Node == "" || cfg.Addr == "" || cfg.CA == nil || (len(cfg.ClientCert.Certificate) == 0 && cfg.GetClientCertificate == nil) {
		return nil, fmt.Errorf("remote driver: the node's name and address, a client certificate and the node CA are needed: %w", errdefs.ErrInvalidArgument)
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("node %q address %q: %v: %w", cfg.Node, cfg.Addr, err, errdefs.ErrInvalidArgument)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: cfg.CA, Certificates: []tls.Certificate{cfg.ClientCert}, ServerName: cfg.Node}
	if cfg.KeyFingerprint != "" {
		tc.VerifyConnection = nodeca.RequireKey(cfg.Node, cfg.KeyFingerprint)
	}
	if cfg.GetClientCertificate != nil {
		tc.Certificates, tc.GetClientCertificate = nil, cfg.GetClientCertificate
	}
	// No client timeout: a create may wait for a template build and a
	// dialed connection lives as long as its user; the calls' contexts
	// bound them, the transport bounds connecting. Dialled connections
	// have their own transport, so their streams never share a
	// connection (and its flow control) with the other calls.
	transport := func() *http.Transport {
		return &http.Transport{
			TLSClientConfig: tc.Clone(), ForceAttemptHTTP2: true, HTTP2: nodeservice.HTTP2(),
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout: 10 * time.Second, IdleConnTimeout: 90 * time.Second, MaxIdleConnsPerHost: 16,
		}
	}
	opts := []connect.ClientOption{connect.WithReadMaxBytes(nodeservice.MaxWireBytes), connect.WithSendMaxBytes(nodeservice.MaxWireBytes)}
	c := nodev1connect.NewSandboxServiceClient(&http.Client{Transport: transport()}, "https://"+cfg.Addr, opts...)
	// A Dial stream carries a sandbox's bytes as they are: compressing
	// each frame cost the node a tenth of its CPU under commands.run load,
	// and the control plane its share to decompress, for traffic that is
	// small, often compressed already, and on the nodes' own network.
	dials := nodev1connect.NewSandboxServiceClient(&http.Client{Transport: transport()}, "https://"+cfg.Addr,
		append(opts, connect.WithAcceptCompression("gzip", nil, nil))...)
	return &Driver{node: cfg.Node, c: c, dials: dials, unreachable: cfg.Unreachable}, nil
}

// Node is the node's name.
func (d *Driver) Node() string { return d.node }

// wireErr is a call's error in its category, naming the node. The
// codes that speak of the call itself rather than the sandbox (the node
// refusing the control plane's credentials, not knowing the call, or
// failing inside) are the node's trouble, not the API user's: they are
// ErrUnavailable.
func (d *Driver) wireErr(err error) error {
	if err == nil {
		return nil
	}
	if d.unreachable != nil && reachFailed(err) {
		d.unreachable(err)
	}
	switch connect.CodeOf(err) {
	case connect.CodeUnauthenticated, connect.CodePermissionDenied, connect.CodeUnimplemented, connect.CodeUnknown, connect.CodeInternal:
		return fmt.Errorf("node %s failed the call: %v: %w", d.node, err, errdefs.ErrUnavailable)
	}
	if notReached(err) {
		return fmt.Errorf("node %s: %w: %w", d.node, errdefs.FromConnect(err), runtime.ErrNotReached)
	}
	return fmt.Errorf("node %s: %w", d.node, errdefs.FromConnect(err))
}

// Name implements runtime.Driver: the node's driver name, read once.
// Until the node answers it is "remote/<node>". Concurrent calls do not
// wait on each other.
func (d *Driver) Name() string {
	d.mu.Lock()
	name := d.name
	d.mu.Unlock()
	if name != "" {
		return name
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := d.c.Name(ctx, connect.NewRequest(&nodev1.NameRequest{}))
	if err != nil || res.Msg.GetName() == "" {
		return "remote/" + d.node
	}
	d.mu.Lock()
	d.name = res.Msg.GetName()
	d.mu.Unlock()
	return res.Msg.GetName()
}

func ref(id string) *connect.Request[nodev1.SandboxRef] {
	return connect.NewRequest(&nodev1.SandboxRef{Id: id})
}

// Create implements runtime.Driver.
func (d *Driver) Create(ctx context.Context, spec runtime.Spec) (runtime.Info, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return runtime.Info{}, fmt.Errorf("sandbox %q spec: %v: %w", spec.ID, err, errdefs.ErrInvalidArgument)
	}
	res, err := d.c.Create(ctx, connect.NewRequest(&nodev1.CreateRequest{SpecJson: b}))
	if err != nil {
		return runtime.Info{}, d.wireErr(err)
	}
	return nodeservice.InfoOf(res.Msg)
}

// Start implements runtime.Driver.
func (d *Driver) Start(ctx context.Context, id string) error {
	_, err := d.c.Start(ctx, ref(id))
	return d.wireErr(err)
}

// Pause implements runtime.Driver.
func (d *Driver) Pause(ctx context.Context, id string) error {
	_, err := d.c.Pause(ctx, ref(id))
	return d.wireErr(err)
}

// Resume implements runtime.Driver.
func (d *Driver) Resume(ctx context.Context, id string) error {
	_, err := d.c.Resume(ctx, ref(id))
	return d.wireErr(err)
}

// Stop implements runtime.Driver.
func (d *Driver) Stop(ctx context.Context, id string) error {
	_, err := d.c.Stop(ctx, ref(id))
	return d.wireErr(err)
}

// Destroy implements runtime.Driver.
func (d *Driver) Destroy(ctx context.Context, id string) error {
	_, err := d.c.Destroy(ctx, ref(id))
	return d.wireErr(err)
}

// Stats implements runtime.Driver.
func (d *Driver) Stats(ctx context.Context, id string) (runtime.Stats, error) {
	res, err := d.c.Stats(ctx, ref(id))
	if err != nil {
		return runtime.Stats{}, d.wireErr(err)
	}
	return nodeservice.StatsOf(res.Msg), nil
}

// Info implements runtime.Driver.
func (d *Driver) Info(ctx context.Context, id string) (runtime.Info, error) {
	res, err := d.c.Info(ctx, ref(id))
	if err != nil {
		return runtime.Info{}, d.wireErr(err)
	}
	return nodeservice.InfoOf(res.Msg)
}

// List implements runtime.Driver.
func (d *Driver) List(ctx context.Context) ([]runtime.Info, error) {
	res, err := d.c.List(ctx, connect.NewRequest(&nodev1.ListRequest{}))
	if err != nil {
		return nil, d.wireErr(err)
	}
	out := make([]runtime.Info, 0, len(res.Msg.GetSandboxes()))
	for _, m := range res.Msg.GetSandboxes() {
		i, err := nodeservice.InfoOf(m)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", d.node, err)
		}
		out = append(out, i)
	}
	return out, nil
}

// Exec implements runtime.Driver: the input is read whole (at most
// nodeservice.MaxMessageBytes) and sent with the call, the output
// written once the process ends.
func (d *Driver) Exec(ctx context.Context, id string, req runtime.ExecRequest) (runtime.ExecResult, error) {
	m := &nodev1.ExecRequest{Id: id, Args: req.Args, Env: req.Env, Cwd: req.Cwd, User: req.User}
	if req.Stdin != nil {
		in, err := io.ReadAll(io.LimitReader(req.Stdin, nodeservice.MaxMessageBytes+1))
		if err != nil {
			return runtime.ExecResult{}, fmt.Errorf("sandbox %q exec input: %w", id, err)
		}
		if len(in) > nodeservice.MaxMessageBytes {
			return runtime.ExecResult{}, fmt.Errorf("sandbox %q exec input passes %d bytes: %w", id, nodeservice.MaxMessageBytes, errdefs.ErrInvalidArgument)
		}
		m.Stdin = in
	}
	res, err := d.c.Exec(ctx, connect.NewRequest(m))
	if err != nil {
		return runtime.ExecResult{}, d.wireErr(err)
	}
	if req.Stdout != nil {
		if _, err := req.Stdout.Write(res.Msg.GetStdout()); err != nil {
			return runtime.ExecResult{}, err
		}
	}
	if req.Stderr != nil {
		if _, err := req.Stderr.Write(res.Msg.GetStderr()); err != nil {
			return runtime.ExecResult{}, err
		}
	}
	return runtime.ExecResult{ExitCode: int(res.Msg.GetExitCode())}, nil
}

// Update implements runtime.Updater.
func (d *Driver) Update(ctx context.Context, id string, l runtime.Limits) error {
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("sandbox %q limits: %v: %w", id, err, errdefs.ErrInvalidArgument)
	}
	_, err = d.c.Update(ctx, connect.NewRequest(&nodev1.UpdateRequest{Id: id, LimitsJson: b}))
	return d.wireErr(err)
}

// Logs implements runtime.LogReader.
func (d *Driver) Logs(ctx context.Context, id string, max int64) ([]byte, error) {
	res, err := d.c.Logs(ctx, connect.NewRequest(&nodev1.LogsRequest{Id: id, Max: max}))
	if err != nil {
		return nil, d.wireErr(err)
	}
	return res.Msg.GetLog(), nil
}

// KillUserProcesses implements runtime.UserKiller.
func (d *Driver) KillUserProcesses(ctx context.Context, id string) error {
	_, err := d.c.KillUserProcesses(ctx, ref(id))
	return d.wireErr(err)
}

var _ runtime.Claimer = (*Driver)(nil)

// Claim implements runtime.Claimer: one call, the node fits the sandbox
// to the create itself.
func (d *Driver) Claim(ctx context.Context, c runtime.Claim) (string, error) {
	limits, err := json.Marshal(c.Limits)
	if err != nil {
		return "", fmt.Errorf("claim limits: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	policy, err := json.Marshal(c.Network)
	if err != nil {
		return "", fmt.Errorf("claim network policy: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	res, err := d.c.Claim(ctx, connect.NewRequest(&nodev1.ClaimRequest{Template: c.Template, LimitsJson: limits, NetworkJson: policy, InitJson: c.Init, ClaimKey: c.Key}))
	if err != nil {
		return "", d.wireErr(err)
	}
	return res.Msg.GetId(), nil
}
