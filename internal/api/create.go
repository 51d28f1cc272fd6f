package api

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/store"
)

// createBody is E2B's NewSandbox, plus cpuCount and memoryMB, which E2B
// users ask for and E2B does not offer. Fields E2B has and SoulBox does not
// act on yet (mcp, volumeMounts) are accepted and ignored so that every
// SDK version can create sandboxes; allow_internet_access and network are
// applied (see network.go), and autoPause, autoPauseMemory and
// autoResume.enabled become the sandbox's lifecycle.
type createBody struct {
	TemplateID          string            `json:"templateID"`
	Timeout             *int64            `json:"timeout"`
	Metadata            map[string]string `json:"metadata"`
	EnvVars             map[string]string `json:"envVars"`
	Secure              *bool             `json:"secure"`
	AllowInternetAccess *bool             `json:"allow_internet_access"`
	Network             *networkBody      `json:"network"`
	CPUCount            int               `json:"cpuCount"`
	MemoryMB            int               `json:"memoryMB"`
	AutoPause           bool              `json:"autoPause"`
	AutoPauseMemory     *bool             `json:"autoPauseMemory"`
	AutoResume          *struct {
		Enabled bool `json:"enabled"`
	} `json:"autoResume"`
}

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	body, err := decodeCreate(r.Body)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	req := lifecycle.CreateRequest{
		TemplateID: body.TemplateID, Metadata: body.Metadata, EnvVars: body.EnvVars,
		CPUCount: body.CPUCount, MemoryMB: body.MemoryMB, Secure: body.Secure == nil || *body.Secure,
		Team: a.team(r),
		// SoulBox's own header, for measuring and for clients that want
		// a sandbox made fresh: Soulbox-Pool: off.
		NoPool: strings.EqualFold(r.Header.Get("Soulbox-Pool"), "off"),
	}
	if body.Timeout != nil {
		req.Timeout = time.Duration(*body.Timeout) * time.Second
	}
	req.Network = networkRequest(body.AllowInternetAccess, body.Network)
	req.Lifecycle = store.Lifecycle{
		AutoPause:               body.AutoPause,
		AutoPauseFilesystemOnly: body.AutoPauseMemory != nil && !*body.AutoPauseMemory,
		AutoResume:              body.AutoResume != nil && body.AutoResume.Enabled,
	}
	sb, err := a.lc.Create(r.Context(), req)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toSandbox(sb, a.domain))
}

// decodeCreate reads a create body and checks its numbers against their
// documented bounds, before anything is converted (a timeout in seconds
// that overflows a time.Duration must be refused, not wrapped).
func decodeCreate(r io.Reader) (createBody, error) {
	var body createBody
	if err := decodeBody(r, &body); err != nil {
		return body, err
	}
	if body.Timeout != nil {
		if err := timeoutBound.check(*body.Timeout); err != nil {
			return body, err
		}
	}
	if err := cpuBound.check(int64(body.CPUCount)); err != nil {
		return body, err
	}
	if n := body.Network; n != nil {
		for _, l := range []struct {
			b bound
			v *int
		}{{egressBound, n.EgressMbps}, {ingressBound, n.IngressMbps}, {connBound, n.MaxConnections}} {
			if l.v != nil {
				if err := l.b.check(int64(*l.v)); err != nil {
					return body, fmt.Errorf("network.%w", err)
				}
			}
		}
	}
	return body, memoryBound.check(int64(body.MemoryMB))
}
