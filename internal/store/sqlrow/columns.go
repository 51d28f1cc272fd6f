package sqlrow

import (
	"database/sql"
	"encoding/json"

	"github.com/soulbox/soulbox/internal/store"
)

// Network is the network column's value: JSON, or NULL for the defaults.
func Network(n *store.NetworkConfig) sql.NullString {
	if n == nil {
		return sql.NullString{}
	}
	b, _ := json.Marshal(n) // plain strings and bools: cannot fail
	return sql.NullString{String: string(b), Valid: true}
}

// Lifecycle is the lifecycle column's value: JSON, or NULL for the
// defaults.
func Lifecycle(l store.Lifecycle) sql.NullString {
	if l == (store.Lifecycle{}) {
		return sql.NullString{}
	}
	b, _ := json.Marshal(l) // bools: cannot fail
	return sql.NullString{String: string(b), Valid: true}
}

// EnvVars is the env_vars column's value: JSON, or NULL for none.
func EnvVars(env map[string]string) sql.NullString {
	if len(env) == 0 {
		return sql.NullString{}
	}
	b, _ := json.Marshal(env) // strings: cannot fail
	return sql.NullString{String: string(b), Valid: true}
}
