package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// CreateUser implements store.Members.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if err := store.ValidateUser(u); err != nil {
		return err
	}
	created := s.orNow(u.CreatedAt)
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			u.ID, u.Email, sqlrow.Time(created))
		if err != nil {
			return fmt.Errorf("user %q: insert: %w", u.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %q (%s): a user with this id or email exists: %w", u.ID, u.Email, errdefs.ErrAlreadyExists)
		}
		return nil
	})
}

// GetUser implements store.Members.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	return s.user(ctx, `id = ?`, id, fmt.Sprintf("user %q", id))
}

// UserByEmail implements store.Members.
func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	e, err := store.NormalizeEmail(email)
	if err != nil {
		return store.User{}, err
	}
	return s.user(ctx, `email = ?`, e, fmt.Sprintf("user with email %q", e))
}

func (s *Store) user(ctx context.Context, where, arg, what string) (store.User, error) {
	if err := store.ValidateText("user", arg); err != nil {
		return store.User{}, err
	}
	u, err := sqlrow.ScanUser(s.queryRow(ctx, `SELECT `+sqlrow.UserColumns+` FROM users WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("%s: %w", what, errdefs.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("%s: %w", what, err)
	}
	return u, nil
}

// BindUserSubject implements store.Members.
func (s *Store) BindUserSubject(ctx context.Context, userID, subject string) error {
	if userID == "" || subject == "" {
		return fmt.Errorf("bind user subject: user id and subject are required: %w", errdefs.ErrInvalidArgument)
	}
	if err := store.ValidateText("user id", userID); err != nil {
		return err
	}
	if err := store.ValidateText("oidc subject", subject); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET oidc_subject = ? WHERE id = ? AND oidc_subject IS NULL`, subject, userID)
		if err != nil {
			return fmt.Errorf("user %q: bind subject: %w", userID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var bound sql.NullString
		err = tx.QueryRowContext(ctx, `SELECT oidc_subject FROM users WHERE id = ?`, userID).Scan(&bound)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %q: %w", userID, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("user %q: %w", userID, err)
		}
		if bound.String != subject {
			return fmt.Errorf("user %q is bound to another account of the OIDC issuer: %w", userID, errdefs.ErrFailedPrecondition)
		}
		return nil
	})
}

// AddMember implements store.Members.
func (s *Store) AddMember(ctx context.Context, m store.Member) error {
	if err := store.ValidateMember(m); err != nil {
		return err
	}
	added := s.orNow(m.AddedAt)
	return s.write(ctx, func(tx *sql.Tx) error {
		var team, user bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM teams WHERE id = ?), EXISTS (SELECT 1 FROM users WHERE id = ?)`,
			m.Team, m.UserID).Scan(&team, &user); err != nil {
			return fmt.Errorf("member %q of team %q: %w", m.UserID, m.Team, err)
		}
		if !team {
			return fmt.Errorf("team %q: %w", m.Team, errdefs.ErrNotFound)
		}
		if !user {
			return fmt.Errorf("user %q: %w", m.UserID, errdefs.ErrNotFound)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO team_members (team, user_id, role, added_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			m.Team, m.UserID, string(m.Role), sqlrow.Time(added))
		if err != nil {
			return fmt.Errorf("member %q of team %q: insert: %w", m.UserID, m.Team, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %q is already a member of team %q: %w", m.UserID, m.Team, errdefs.ErrAlreadyExists)
		}
		return nil
	})
}

// GetMember implements store.Members.
func (s *Store) GetMember(ctx context.Context, team, userID string) (store.Member, error) {
	if err := store.ValidateText("team", team); err != nil {
		return store.Member{}, err
	}
	if err := store.ValidateText("user id", userID); err != nil {
		return store.Member{}, err
	}
	m, err := sqlrow.ScanMember(s.queryRow(ctx, `SELECT `+sqlrow.MemberColumns+` FROM `+sqlrow.MemberFrom+` WHERE m.team = ? AND m.user_id = ?`, team, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("user %q is not a member of team %q: %w", userID, team, errdefs.ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("member %q of team %q: %w", userID, team, err)
	}
	return m, nil
}

// ListMembers implements store.Members.
func (s *Store) ListMembers(ctx context.Context, team string) ([]store.Member, error) {
	return s.listMembers(ctx, `m.team = ? ORDER BY m.added_at, m.user_id`, team)
}

// ListUserTeams implements store.Members.
func (s *Store) ListUserTeams(ctx context.Context, userID string) ([]store.Member, error) {
	return s.listMembers(ctx, `m.user_id = ? ORDER BY m.added_at, m.team`, userID)
}

func (s *Store) listMembers(ctx context.Context, where, arg string) ([]store.Member, error) {
	if err := store.ValidateText("member", arg); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT `+sqlrow.MemberColumns+` FROM `+sqlrow.MemberFrom+` WHERE `+where, arg)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var out []store.Member
	for rows.Next() {
		m, err := sqlrow.ScanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("list members: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetMemberRole implements store.Members.
func (s *Store) SetMemberRole(ctx context.Context, team, userID string, from, role store.Role) error {
	if err := store.ValidateMember(store.Member{Team: team, UserID: userID, Role: role}); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := lastOwnerGuard(ctx, tx, team, userID, from, role != store.RoleOwner, "demoted"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE team_members SET role = ? WHERE team = ? AND user_id = ?`, string(role), team, userID)
		if err != nil {
			return fmt.Errorf("member %q of team %q: set role: %w", userID, team, err)
		}
		return nil
	})
}

// RemoveMember implements store.Members.
func (s *Store) RemoveMember(ctx context.Context, team, userID string, from store.Role) error {
	if err := store.ValidateMember(store.Member{Team: team, UserID: userID, Role: store.RoleViewer}); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := lastOwnerGuard(ctx, tx, team, userID, from, true, "removed"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM team_members WHERE team = ? AND user_id = ?`, team, userID); err != nil {
			return fmt.Errorf("member %q of team %q: remove: %w", userID, team, err)
		}
		// The member's tokens are revoked with the membership: adding the
		// user back does not revive them.
		if _, err := tx.ExecContext(ctx, `UPDATE access_tokens SET revoked_at = ? WHERE team = ? AND key_id = ? AND revoked_at IS NULL`,
			sqlrow.Time(s.now()), team, store.MemberKeyPrefix+userID); err != nil {
			return fmt.Errorf("member %q of team %q: revoke their access tokens: %w", userID, team, err)
		}
		return nil
	})
}

// lastOwnerGuard fails with ErrNotFound if userID is not a member of
// team, with ErrFailedPrecondition if from is set and the member's role
// is another, and, if the change takes an owner away (losing), with
// ErrFailedPrecondition if the member is the team's last owner. The
// writer's single connection serialises it with the change it guards.
func lastOwnerGuard(ctx context.Context, tx *sql.Tx, team, userID string, from store.Role, losing bool, verb string) error {
	var role string
	var owners int
	err := tx.QueryRowContext(ctx, `SELECT role, (SELECT COUNT(*) FROM team_members WHERE team = ? AND role = 'owner')
		FROM team_members WHERE team = ? AND user_id = ?`, team, team, userID).Scan(&role, &owners)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("user %q is not a member of team %q: %w", userID, team, errdefs.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("member %q of team %q: %w", userID, team, err)
	}
	if from != "" && store.Role(role) != from {
		return fmt.Errorf("member %q of team %q is %s now, not %s: their role changed meanwhile: read it again: %w",
			userID, team, role, from, errdefs.ErrFailedPrecondition)
	}
	if losing && store.Role(role) == store.RoleOwner && owners <= 1 {
		return fmt.Errorf("user %q is the last owner of team %q and cannot be %s: make another member owner first: %w",
			userID, team, verb, errdefs.ErrFailedPrecondition)
	}
	return nil
}
