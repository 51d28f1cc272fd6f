package soulbox

import (
	"context"
	"iter"
	"net/url"
	"strconv"
	"strings"
)

// ListOptions filter List.
type ListOptions struct {
	// States selects "running" and/or "paused" sandboxes (empty: both).
	States []string
	// Metadata selects sandboxes having all these pairs.
	Metadata map[string]string
	// PageSize is how many sandboxes one request fetches (max 100).
	PageSize int
}

// List yields the sandboxes the filters select, newest first, fetching
// pages as the loop advances. A failed request yields its error and ends
// the sequence:
//
//	for info, err := range client.List(ctx, nil) {
//		if err != nil { return err }
//		...
//	}
func (c *Client) List(ctx context.Context, o *ListOptions) iter.Seq2[SandboxInfo, error] {
	if o == nil {
		o = &ListOptions{}
	}
	q := url.Values{}
	if len(o.States) > 0 {
		q.Set("state", strings.Join(o.States, ","))
	}
	if len(o.Metadata) > 0 {
		md := url.Values{}
		for k, v := range o.Metadata {
			md.Set(k, v)
		}
		q.Set("metadata", md.Encode())
	}
	if o.PageSize > 0 {
		q.Set("limit", strconv.Itoa(o.PageSize))
	}
	return func(yield func(SandboxInfo, error) bool) {
		q := cloneValues(q) // each range starts over
		for {
			var page []SandboxInfo
			h, err := c.do(ctx, "GET", "/v2/sandboxes?"+q.Encode(), nil, &page)
			if err != nil {
				yield(SandboxInfo{}, err)
				return
			}
			for _, sb := range page {
				if !yield(sb, nil) {
					return
				}
			}
			next := h.Get("X-Next-Token")
			if next == "" || len(page) == 0 {
				return
			}
			q.Set("nextToken", next)
		}
	}
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
