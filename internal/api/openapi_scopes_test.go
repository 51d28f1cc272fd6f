package api

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/soulbox/soulbox/internal/authz"
)

// TestOpenAPIScopes keeps the documented scopes the ones a key can have.
func TestOpenAPIScopes(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Scope struct {
					Enum []string `json:"enum"`
				} `json:"Scope"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	got, want := slices.Sorted(slices.Values(doc.Components.Schemas.Scope.Enum)), slices.Sorted(slices.Values(authz.Scopes()))
	if !slices.Equal(got, want) {
		t.Errorf("openapi.json's Scope enum %v, want authz.Scopes() %v", got, want)
	}
}
