// Package authz decides what an authenticated key may do: the roles of a
// team (owner, admin, developer, viewer), the scopes a key can be limited
// to, and the permission every API route needs. Every route of the API
// is registered through Guard, which refuses to register a route the
// route table does not name, so no route can skip the check.
//
// Which team's objects a key sees is not decided here: every handler and
// the store scope reads by the key's team, and another team's object is
// not found. authz only answers "may this key do this kind of thing".
package authz

import (
	"slices"
	"strings"

	"github.com/soulbox/soulbox/internal/store"
)

// Permission is a kind of action on a team's objects. Its name is also
// the scope that allows it.
type Permission string

// The permissions, each also a scope a key can be limited to.
const (
	// Public routes need no permission beyond a valid key (and their own
	// checks): unknown routes answered 404, GET /teams.
	Public Permission = ""
	// SandboxesRead lists and reads sandboxes, their metrics, logs and
	// events.
	SandboxesRead Permission = "sandboxes:read"
	// SandboxesCreate starts sandboxes.
	SandboxesCreate Permission = "sandboxes:create"
	// SandboxesUse connects to, pauses, resumes, times and kills
	// sandboxes, and receives their access tokens.
	SandboxesUse Permission = "sandboxes:use"
	// TemplatesRead lists and reads templates and builds.
	TemplatesRead Permission = "templates:read"
	// TemplatesBuild creates, builds, tags, changes and deletes templates.
	TemplatesBuild Permission = "templates:build"
	// KeysManage lists, creates, renames and deletes the team's keys.
	KeysManage Permission = "keys:manage"
	// AuditRead reads the team's audit log.
	AuditRead Permission = "audit:read"
	// SecretsRead lists the team's secrets and reads their metadata
	// (never a value: no route returns one).
	SecretsRead Permission = "secrets:read"
	// SecretsManage creates, changes and deletes the team's secrets.
	SecretsManage Permission = "secrets:manage"
	// MembersManage lists, adds, changes the role of and removes the
	// team's members (users).
	MembersManage Permission = "members:manage"
	// ServerAdmin manages teams (the /admin routes). Only owners and
	// admins of the built-in administrators' team have it.
	ServerAdmin Permission = "server:admin"
)

// ReadOnly is a scope that stands for every read permission.
const ReadOnly = "read-only"

var readPermissions = []Permission{SandboxesRead, TemplatesRead}

// roles maps each role to its permissions in its own team.
var roles = map[store.Role][]Permission{
	store.RoleViewer:    {SandboxesRead, TemplatesRead},
	store.RoleDeveloper: {SandboxesRead, TemplatesRead, SandboxesCreate, SandboxesUse, TemplatesBuild, SecretsRead},
	store.RoleAdmin:     {SandboxesRead, TemplatesRead, SandboxesCreate, SandboxesUse, TemplatesBuild, KeysManage, AuditRead, SecretsRead, SecretsManage, MembersManage},
	store.RoleOwner:     {SandboxesRead, TemplatesRead, SandboxesCreate, SandboxesUse, TemplatesBuild, KeysManage, AuditRead, SecretsRead, SecretsManage, MembersManage},
}

// Scopes lists every scope a key can be limited to.
func Scopes() []string {
	return []string{string(SandboxesRead), string(SandboxesCreate), string(SandboxesUse), string(TemplatesRead),
		string(TemplatesBuild), string(KeysManage), string(AuditRead), string(SecretsRead), string(SecretsManage), string(MembersManage), string(ServerAdmin), ReadOnly}
}

// ValidScope reports whether s is one of Scopes.
func ValidScope(s string) bool { return slices.Contains(Scopes(), s) }

// Allowed reports whether key k may do what p allows: its role grants p
// and, if the key has scopes, one of them does too.
func Allowed(k store.APIKey, p Permission) bool {
	if p == Public {
		return true
	}
	if !roleAllows(k, p) {
		return false
	}
	if len(k.Scopes) == 0 {
		return true
	}
	for _, s := range k.Scopes {
		if Permission(s) == p || (s == ReadOnly && slices.Contains(readPermissions, p)) {
			return true
		}
	}
	return false
}

func roleAllows(k store.APIKey, p Permission) bool {
	if p == ServerAdmin {
		return k.Team == store.AdminTeam && (k.Role == store.RoleOwner || k.Role == store.RoleAdmin)
	}
	return slices.Contains(roles[k.Role], p)
}

// Outranks reports whether a key of role a may issue a key of role b:
// nobody hands out more than they have.
func Outranks(a, b store.Role) bool {
	return rank(a) >= rank(b) && rank(b) > 0
}

func rank(r store.Role) int {
	switch r {
	case store.RoleOwner:
		return 4
	case store.RoleAdmin:
		return 3
	case store.RoleDeveloper:
		return 2
	case store.RoleViewer:
		return 1
	}
	return 0
}

// Describe names what a key is, for refusals: "e2b_1a2b3c… (viewer,
// scopes read-only)".
func Describe(k store.APIKey) string {
	if k.User != "" {
		return "of user " + k.Prefix + " (" + string(k.Role) + ")"
	}
	s := k.Prefix + "… (" + string(k.Role)
	if k.Role == "" {
		s += "no role"
	}
	if len(k.Scopes) > 0 {
		s += ", scopes " + strings.Join(k.Scopes, " ")
	}
	return s + ")"
}
