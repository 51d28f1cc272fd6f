package registry

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeca"
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

// Join implements the node service: it checks the token and the name
// (reading the store, changing nothing), signs the CSR for the node's
// name (a client certificate for its heartbeats and a serving
// certificate for its sandbox service, both for the CSR's key) and
// registers the node, ready, spending the token. A malformed,
// unknown, used, revoked or expired token, a CSR for another name or a
// name already registered is refused before anything is signed and
// registers nothing.
func (r *Registry) Join(ctx context.Context, req *connect.Request[nodev1.JoinRequest]) (*connect.Response[nodev1.JoinResponse], error) {
	name := req.Msg.GetName()
	id, _, _ := strings.Cut(req.Msg.GetToken(), ".")
	certPEM, servingPEM, err := r.join(ctx, name, req.Msg.GetToken(), req.Msg.GetCsrPem())
	if hr, _ := ctx.Value(requestKey{}).(*http.Request); hr != nil && r.joined != nil {
		r.joined(hr, name, tokenIDOf(id), err)
	}
	if err != nil {
		r.log.Warn("node join refused", "node", name, "token", tokenIDOf(id), "err", err)
		return nil, connectError(err)
	}
	r.log.Info("node joined", "node", name, "token", tokenIDOf(id))
	return connect.NewResponse(&nodev1.JoinResponse{CertificatePem: certPEM, CaPem: r.ca.CertPEM(),
		HeartbeatIntervalMs: r.HeartbeatInterval().Milliseconds(), ServingCertificatePem: servingPEM}), nil
}

func (r *Registry) join(ctx context.Context, name, token string, csrPEM []byte) (certPEM, servingPEM []byte, err error) {
	if err := ValidNodeName(name); err != nil {
		return nil, nil, err
	}
	id, secret, ok := strings.Cut(token, ".")
	if !ok {
		return nil, nil, fmt.Errorf("the join token's <id>.<secret> is malformed: %w", errdefs.ErrInvalidArgument)
	}
	if _, err := nodetoken.Parse(strings.Join([]string{"sbn1", id, secret, r.ca.Fingerprint()}, ".")); err != nil {
		return nil, nil, err
	}
	hash := nodetoken.SecretHash(id, secret)
	now := r.now()
	// Read only: nothing is signed for a token or a name that cannot join.
	t, err := r.st.NodeTokenByHash(ctx, hash)
	if errdefs.IsNotFound(err) {
		return nil, nil, store.ErrUnknownNodeToken
	}
	if err != nil {
		return nil, nil, err
	}
	if err := store.NodeTokenUsable(t, now); err != nil {
		return nil, nil, err
	}
	if _, err := r.st.GetNode(ctx, name); err == nil {
		return nil, nil, fmt.Errorf("node %q is already registered: %w", name, errdefs.ErrAlreadyExists)
	} else if !errdefs.IsNotFound(err) {
		return nil, nil, err
	}
	certPEM, fp, err := r.ca.SignNode(name, csrPEM)
	if err != nil {
		return nil, nil, err
	}
	servingPEM, err = r.ca.SignServing(name, csrPEM)
	if err != nil {
		return nil, nil, err
	}
	keyFP, err := nodeca.CSRKeyFingerprint(name, csrPEM)
	if err != nil {
		return nil, nil, err
	}
	// JoinNode checks the token and the name again, in the transaction
	// that spends it: of two joins racing, one wins. The key is recorded
	// with it: the node's sandbox service is accepted under it only.
	n := store.Node{ID: name, Status: store.NodeReady, StatusBy: store.ByNode, CertFingerprint: fp, KeyFingerprint: keyFP}
	if err := r.st.JoinNode(ctx, hash, n, now); err != nil {
		return nil, nil, err
	}
	return certPEM, servingPEM, nil
}

// tokenIDOf is the token id to log or record: what the client sent, if
// it looks like one.
func tokenIDOf(id string) string {
	if len(id) > 64 || store.ValidateText("token id", id) != nil {
		return ""
	}
	return id
}
