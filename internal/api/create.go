package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
)

// createBody is E2B's NewSandbox, plus cpuCount and memoryMB, which E2B
// users ask for and E2B does not offer. Fields E2B has and SoulBox does not
// act on yet (autoPause, mcp, volumeMounts) are accepted
// and ignored so that every SDK version can create sandboxes;
// allow_internet_access and network are applied (see network.go).
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
}

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	var body createBody
	err := decode(r, &body)
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
		if *body.Timeout <= 0 {
			a.writeError(w, r, fmt.Errorf("timeout %d: use a positive number of seconds: %w", *body.Timeout, errdefs.ErrInvalidArgument))
			return
		}
		req.Timeout = time.Duration(*body.Timeout) * time.Second
	}
	req.Network = networkRequest(body.AllowInternetAccess, body.Network)
	if body.CPUCount < 0 || body.MemoryMB < 0 {
		a.writeError(w, r, fmt.Errorf("cpuCount and memoryMB must be positive: %w", errdefs.ErrInvalidArgument))
		return
	}
	sb, err := a.lc.Create(r.Context(), req)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toSandbox(sb))
}
