package registry

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodetoken"
	"github.com/soulbox/soulbox/internal/store"
)

// nodeNameRE is what a node may be called: a DNS label, lowercase.
var nodeNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidNodeName says what is wrong with a node name, or nil.
func ValidNodeName(name string) error {
	if !nodeNameRE.MatchString(name) {
		return fmt.Errorf("node name %q: want 1 to 63 lowercase letters, digits and inner dashes: %w", name, errdefs.ErrInvalidArgument)
	}
	return nil
}

// Join implements the node service: it spends the token, signs the CSR
// for the node's name (a client certificate for its heartbeats and a
// serving certificate for its sandbox service, both for the CSR's key)
// and registers the node, ready. A malformed,
// unknown, used, revoked or expired token, a CSR for another name or a
// name already registered is refused and registers nothing.
func (r *Registry) Join(ctx context.Context, req *connect.Request[nodev1.JoinRequest]) (*connect.Response[nodev1.JoinResponse], error) {
	name := req.Msg.GetName()
	if err := ValidNodeName(name); err != nil {
		return nil, connectError(err)
	}
	id, secret, ok := strings.Cut(req.Msg.GetToken(), ".")
	if !ok {
		return nil, connectError(fmt.Errorf("the join token's <id>.<secret> is malformed: %w", errdefs.ErrInvalidArgument))
	}
	if _, err := nodetoken.Parse(strings.Join([]string{"sbn1", id, secret, r.ca.Fingerprint()}, ".")); err != nil {
		return nil, connectError(err)
	}
	certPEM, fp, err := r.ca.SignNode(name, req.Msg.GetCsrPem())
	if err != nil {
		return nil, connectError(err)
	}
	servingPEM, err := r.ca.SignServing(name, req.Msg.GetCsrPem())
	if err != nil {
		return nil, connectError(err)
	}
	n := store.Node{ID: name, Status: store.NodeReady, StatusBy: store.ByNode, CertFingerprint: fp}
	if err := r.st.JoinNode(ctx, nodetoken.SecretHash(id, secret), n, r.now()); err != nil {
		r.log.Warn("node join refused", "node", name, "token", id, "err", err)
		return nil, connectError(err)
	}
	r.log.Info("node joined", "node", name, "token", id)
	return connect.NewResponse(&nodev1.JoinResponse{CertificatePem: certPEM, CaPem: r.ca.CertPEM(),
		HeartbeatIntervalMs: r.HeartbeatInterval().Milliseconds(), ServingCertificatePem: servingPEM}), nil
}
