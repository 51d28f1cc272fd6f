package sqlrow

import (
	"database/sql"

	"github.com/soulbox/soulbox/internal/store"
)

// UserColumns are the users columns ScanUser reads, in order.
const UserColumns = `id, email, created_at, oidc_subject`

// ScanUser reads a user from a row of UserColumns.
func ScanUser(row Scanner) (store.User, error) {
	var u store.User
	var created int64
	var subject sql.NullString
	if err := row.Scan(&u.ID, &u.Email, &created, &subject); err != nil {
		return u, err
	}
	u.CreatedAt, u.Subject = FromTime(created), subject.String
	return u, nil
}

// MemberColumns are the columns ScanMember reads, in order, from
// team_members m joined with users u.
const MemberColumns = `m.team, m.user_id, u.email, m.role, m.added_at`

// MemberFrom is the join MemberColumns read from.
const MemberFrom = `team_members m JOIN users u ON u.id = m.user_id`

// ScanMember reads a membership from a row of MemberColumns.
func ScanMember(row Scanner) (store.Member, error) {
	var m store.Member
	var role string
	var added int64
	if err := row.Scan(&m.Team, &m.UserID, &m.Email, &role, &added); err != nil {
		return m, err
	}
	m.Role, m.AddedAt = store.Role(role), FromTime(added)
	return m, nil
}
