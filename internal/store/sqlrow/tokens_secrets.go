package sqlrow

import (
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/soulbox/soulbox/internal/store"
)

// AccessTokenColumns are the access_tokens columns ScanAccessToken reads,
// in order.
const AccessTokenColumns = `id, team, key_id, name, created_at, expires_at, revoked_at`

// ScanAccessToken reads a token's record from a row of AccessTokenColumns.
func ScanAccessToken(row Scanner) (store.AccessToken, error) {
	var t store.AccessToken
	var created, expires int64
	var revoked sql.NullInt64
	if err := row.Scan(&t.ID, &t.Team, &t.KeyID, &t.Name, &created, &expires, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = FromTime(created), FromTime(expires), FromNullTimePtr(revoked)
	return t, nil
}

// SecretColumns are the secrets columns ScanSecret reads, in order.
const SecretColumns = `id, team, label, description, allowlist, sealed, created_at, updated_at`

// Allowlist is the allowlist column's value: JSON, [] for none.
func Allowlist(hosts []string) string {
	if hosts == nil {
		hosts = []string{}
	}
	b, _ := json.Marshal(hosts) // strings: cannot fail
	return string(b)
}

// ScanSecret reads a secret from a row of SecretColumns.
func ScanSecret(row Scanner) (store.Secret, error) {
	var s store.Secret
	var allow string
	var created, updated int64
	if err := row.Scan(&s.ID, &s.Team, &s.Label, &s.Description, &allow, &s.Sealed, &created, &updated); err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(allow), &s.Allowlist); err != nil {
		return s, fmt.Errorf("secret %q: allowlist: %w", s.ID, err)
	}
	if len(s.Allowlist) == 0 {
		s.Allowlist = nil
	}
	s.CreatedAt, s.UpdatedAt = FromTime(created), FromTime(updated)
	return s, nil
}
