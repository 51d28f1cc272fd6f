package proxy

import "net/http"

// isolate keeps what a sandbox answers on the API's own origin from
// acting as that origin. Requests routed by header or by a /files
// signature arrive on the host that also serves the API and the
// dashboard, whose page keeps its API key in session storage: a signed
// link opened in a browser would render whatever the agent sends, and
// an agent that a sandbox's code has replaced could send a page with a
// script. Content-Security-Policy: sandbox renders such a page in an
// opaque origin, without scripts; nosniff stops a browser reading a
// body as a type other than the one declared. Neither changes a
// download: the SDKs read the bytes, which no browser renders.
//
// Host-routed traffic (<port>-<id>.<domain>) has an origin of its own
// and is left alone: it is where a sandbox serves its web pages.
func isolate(resp *http.Response) {
	rt, _ := resp.Request.Context().Value(routeKey{}).(route)
	if rt.byHost {
		return
	}
	resp.Header.Set("Content-Security-Policy", "sandbox")
	resp.Header.Set("X-Content-Type-Options", "nosniff")
}

// modifyResponse is the reverse proxy's last word on every answer a
// sandbox gives.
func modifyResponse(resp *http.Response) error {
	isolate(resp)
	return closeAfterResponse(resp)
}
