package api

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3 document of this API (openapi.json, kept in
// step with Register by a test).
//
//go:embed openapi.json
var OpenAPI []byte

// ServeOpenAPI serves the document; it needs no key.
func ServeOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI)
}
