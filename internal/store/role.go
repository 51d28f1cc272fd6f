package store

// Role is what a key may do in its team. The permissions of each role
// are the authz package's; the store only keeps the name.
type Role string

// The roles, from most to least rights.
const (
	// RoleOwner manages the team's keys and everything the team owns.
	RoleOwner Role = "owner"
	// RoleAdmin is an owner in all but name: kept apart so that a team
	// can tell who set it up.
	RoleAdmin Role = "admin"
	// RoleDeveloper creates, uses and kills sandboxes and builds templates.
	RoleDeveloper Role = "developer"
	// RoleViewer reads and changes nothing.
	RoleViewer Role = "viewer"
)

// Roles lists every role, most rights first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleDeveloper, RoleViewer}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}
