package authz

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/store"
)

// TestRolePermissions is the role table, written out by hand: a change to
// a role's rights must change this table too.
func TestRolePermissions(t *testing.T) {
	const (
		y = true
		n = false
	)
	perms := []Permission{SandboxesRead, SandboxesCreate, SandboxesUse, TemplatesRead, TemplatesBuild, KeysManage, AuditRead, ServerAdmin}
	for _, tc := range []struct {
		team string
		role store.Role
		want []bool // in the order of perms
	}{
		{"t1", store.RoleViewer, []bool{y, n, n, y, n, n, n, n}},
		{"t1", store.RoleDeveloper, []bool{y, y, y, y, y, n, n, n}},
		{"t1", store.RoleAdmin, []bool{y, y, y, y, y, y, y, n}},
		{"t1", store.RoleOwner, []bool{y, y, y, y, y, y, y, n}},
		{"t1", "", []bool{n, n, n, n, n, n, n, n}},
		{"t1", "root", []bool{n, n, n, n, n, n, n, n}},
		{store.AdminTeam, store.RoleOwner, []bool{y, y, y, y, y, y, y, y}},
		{store.AdminTeam, store.RoleAdmin, []bool{y, y, y, y, y, y, y, y}},
		{store.AdminTeam, store.RoleDeveloper, []bool{y, y, y, y, y, n, n, n}},
		{store.AdminTeam, store.RoleViewer, []bool{y, n, n, y, n, n, n, n}},
	} {
		k := store.APIKey{Team: tc.team, Role: tc.role}
		for i, p := range perms {
			if got := Allowed(k, p); got != tc.want[i] {
				t.Errorf("team %s role %q, %s: allowed %v, want %v", tc.team, tc.role, p, got, tc.want[i])
			}
		}
	}
}

func TestScopes(t *testing.T) {
	for _, tc := range []struct {
		role   store.Role
		scopes []string
		p      Permission
		want   bool
	}{
		{store.RoleOwner, []string{"sandboxes:create", "sandboxes:use"}, SandboxesCreate, true},
		{store.RoleOwner, []string{"sandboxes:create", "sandboxes:use"}, SandboxesRead, false},
		{store.RoleOwner, []string{"sandboxes:create", "sandboxes:use"}, TemplatesBuild, false},
		{store.RoleOwner, []string{ReadOnly}, SandboxesRead, true},
		{store.RoleOwner, []string{ReadOnly}, TemplatesRead, true},
		{store.RoleOwner, []string{ReadOnly}, SandboxesUse, false},
		{store.RoleOwner, []string{ReadOnly}, KeysManage, false},
		{store.RoleDeveloper, []string{"templates:build"}, TemplatesBuild, true},
		{store.RoleDeveloper, []string{"templates:build"}, SandboxesCreate, false},
		// A scope never adds what the role lacks.
		{store.RoleViewer, []string{"sandboxes:create"}, SandboxesCreate, false},
		{store.RoleDeveloper, []string{"keys:manage"}, KeysManage, false},
		{store.RoleOwner, nil, Public, true},
	} {
		k := store.APIKey{Team: "t1", Role: tc.role, Scopes: tc.scopes}
		if got := Allowed(k, tc.p); got != tc.want {
			t.Errorf("%s with scopes %v, %s: %v, want %v", tc.role, tc.scopes, tc.p, got, tc.want)
		}
	}
}

func TestOutranks(t *testing.T) {
	for _, tc := range []struct {
		a, b store.Role
		want bool
	}{
		{store.RoleOwner, store.RoleOwner, true},
		{store.RoleAdmin, store.RoleOwner, false},
		{store.RoleAdmin, store.RoleDeveloper, true},
		{store.RoleViewer, store.RoleDeveloper, false},
		{store.RoleOwner, "root", false},
		{"", store.RoleViewer, false},
	} {
		if got := Outranks(tc.a, tc.b); got != tc.want {
			t.Errorf("Outranks(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestGuard(t *testing.T) {
	mux := http.NewServeMux()
	g := Guard(mux, Routes{"GET /x": SandboxesCreate, "GET /open": Public})
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }
	g.HandleFunc("GET /x", ok)
	g.HandleFunc("GET /open", ok)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a route missing from the table registered")
			}
		}()
		g.HandleFunc("GET /forgotten", ok)
	}()
	for _, tc := range []struct {
		name string
		key  *store.APIKey
		path string
		code int
		msg  string
	}{
		{"developer", &store.APIKey{Prefix: "e2b_aaaaaa", Team: "t", Role: store.RoleDeveloper}, "/x", http.StatusTeapot, ""},
		{"viewer", &store.APIKey{Prefix: "e2b_bbbbbb", Team: "t", Role: store.RoleViewer}, "/x", http.StatusForbidden,
			`API key e2b_bbbbbb… (viewer) may not GET /x: this route needs a key with permission \"sandboxes:create\"`},
		{"no key", nil, "/x", http.StatusUnauthorized, "needs an API key"},
		{"public", &store.APIKey{Role: store.RoleViewer}, "/open", http.StatusTeapot, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.path, nil)
			if tc.key != nil {
				r = r.WithContext(auth.NewContext(context.Background(), *tc.key))
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.msg) {
				t.Errorf("got %d %s, want %d saying %q", w.Code, w.Body, tc.code, tc.msg)
			}
		})
	}
}
