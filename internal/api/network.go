package api

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/store"
)

// networkBody is E2B's SandboxNetworkConfig.
type networkBody struct {
	AllowOut           []string `json:"allowOut"`
	DenyOut            []string `json:"denyOut"`
	AllowPublicTraffic *bool    `json:"allowPublicTraffic"`
	MaskRequestHost    *string  `json:"maskRequestHost"`
	// SoulBox extensions: the sandbox's network limits.
	EgressMbps     *int `json:"egressMbps"`
	IngressMbps    *int `json:"ingressMbps"`
	MaxConnections *int `json:"maxConnections"`
}

// networkRequest merges NewSandbox.allow_internet_access and network; nil
// when the client gave neither.
func networkRequest(allowInternet *bool, n *networkBody) *lifecycle.NetworkRequest {
	if allowInternet == nil && n == nil {
		return nil
	}
	req := &lifecycle.NetworkRequest{AllowInternetAccess: allowInternet}
	if n != nil {
		req.AllowOut, req.DenyOut, req.AllowPublicTraffic = n.AllowOut, n.DenyOut, n.AllowPublicTraffic
		if n.MaskRequestHost != nil {
			req.MaskRequestHost = *n.MaskRequestHost
		}
		req.EgressMbps, req.IngressMbps, req.MaxConnections = n.EgressMbps, n.IngressMbps, n.MaxConnections
	}
	return req
}

// networkUpdateBody is E2B's SandboxNetworkUpdateConfig.
type networkUpdateBody struct {
	AllowOut            []string `json:"allowOut"`
	DenyOut             []string `json:"denyOut"`
	AllowInternetAccess *bool    `json:"allow_internet_access"`
}

// updateNetwork replaces a sandbox's egress rules: PUT
// /sandboxes/{id}/network. Unknown fields are refused, so that a rule the
// server does not know is never silently dropped.
func (a *API) updateNetwork(w http.ResponseWriter, r *http.Request) {
	var body networkUpdateBody
	err := decodeStrictBody(r.Body, &body)
	var sb store.Sandbox
	if err == nil {
		sb, err = a.owned(r)
	}
	if err == nil {
		_, err = a.lc.UpdateNetwork(r.Context(), sb.ID, lifecycle.NetworkRequest{
			AllowInternetAccess: body.AllowInternetAccess, AllowOut: body.AllowOut, DenyOut: body.DenyOut,
		})
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// networkJSON is E2B's SandboxNetworkConfig in a SandboxDetail.
type networkJSON struct {
	AllowOut           []string `json:"allowOut,omitempty"`
	DenyOut            []string `json:"denyOut,omitempty"`
	AllowPublicTraffic bool     `json:"allowPublicTraffic"`
	MaskRequestHost    *string  `json:"maskRequestHost,omitempty"`
	EgressMbps         int      `json:"egressMbps,omitempty"`
	IngressMbps        int      `json:"ingressMbps,omitempty"`
	MaxConnections     int      `json:"maxConnections,omitempty"`
}

func toNetworkJSON(n *store.NetworkConfig) (net *networkJSON, allowInternet bool) {
	if n == nil {
		return nil, true
	}
	out := &networkJSON{AllowOut: n.AllowOut, DenyOut: n.DenyOut, AllowPublicTraffic: n.AllowPublicTraffic,
		EgressMbps: n.EgressMbps, IngressMbps: n.IngressMbps, MaxConnections: n.MaxConnections}
	if n.MaskRequestHost != "" {
		h := n.MaskRequestHost
		out.MaskRequestHost = &h
	}
	return out, n.AllowInternetAccess
}
