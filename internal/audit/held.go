package audit

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// heldResponse keeps a handler's answer until the audit entry is
// written. Only non-streaming routes are wrapped (REST calls that change
// state answer a small JSON body or none).
type heldResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *heldResponse) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(b)
}

func (h *heldResponse) code() int {
	if h.status == 0 {
		return http.StatusOK
	}
	return h.status
}

func (h *heldResponse) sendTo(w http.ResponseWriter) {
	w.WriteHeader(h.code())
	_, _ = w.Write(h.body.Bytes())
}

// errorMessage is the message of a {code, message} body, or "".
func errorMessage(body bytes.Buffer) string {
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body.Bytes(), &e)
	return e.Message
}
