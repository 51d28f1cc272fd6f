package sqlrow

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/soulbox/soulbox/internal/store"
)

// Scanner is a row, or rows at one row.
type Scanner interface{ Scan(...any) error }

// TemplateColumns are the templates columns ScanTemplate reads, in order.
const TemplateColumns = `id, team, public, cpu_count, memory_mb, created_at, updated_at, pool`

// ScanTemplate reads a template from a row of TemplateColumns.
func ScanTemplate(row Scanner) (store.Template, error) {
	var t store.Template
	var created, updated int64
	var pool sql.NullString
	if err := row.Scan(&t.ID, &t.Team, &t.Public, &t.CPUCount, &t.MemoryMB, &created, &updated, &pool); err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt = FromTime(created), FromTime(updated)
	if pool.Valid {
		t.Pool = &store.TemplatePool{}
		if err := json.Unmarshal([]byte(pool.String), t.Pool); err != nil {
			return t, fmt.Errorf("template %q: pool: %w", t.ID, err)
		}
	}
	return t, nil
}

// BuildColumns are the template_builds columns ScanBuild reads, in order.
const BuildColumns = `id, template_id, status, reason, reason_step, cpu_count, memory_mb, request, layers, size_bytes,
	env, workdir, user_name, start_cmd, ready_cmd, source, created_at, updated_at, finished_at, started_at`

// ScanBuild reads a build from a row of BuildColumns.
func ScanBuild(row Scanner) (store.TemplateBuild, error) {
	var b store.TemplateBuild
	var layers, env string
	var created, updated int64
	var finished, started sql.NullInt64
	if err := row.Scan(&b.ID, &b.TemplateID, &b.Status, &b.Reason, &b.ReasonStep, &b.CPUCount, &b.MemoryMB, &b.Request,
		&layers, &b.SizeBytes, &env, &b.Workdir, &b.User, &b.StartCmd, &b.ReadyCmd, &b.Source, &created, &updated, &finished, &started); err != nil {
		return b, err
	}
	if err := json.Unmarshal([]byte(layers), &b.Layers); err != nil {
		return b, fmt.Errorf("build %q: layers: %w", b.ID, err)
	}
	if err := json.Unmarshal([]byte(env), &b.Env); err != nil {
		return b, fmt.Errorf("build %q: env: %w", b.ID, err)
	}
	if len(b.Layers) == 0 {
		b.Layers = nil
	}
	if len(b.Env) == 0 {
		b.Env = nil
	}
	b.CreatedAt, b.UpdatedAt, b.FinishedAt = FromTime(created), FromTime(updated), FromNullTime(finished)
	b.StartedAt = FromNullTime(started)
	return b, nil
}

// APIKeyColumns are the api_keys columns ScanAPIKey reads, in order.
const APIKeyColumns = `id, name, prefix, hash, team, admin, created_at, last_used_at, revoked_at, role, scopes`

// ScanAPIKey reads a key from a row of APIKeyColumns.
func ScanAPIKey(row Scanner) (store.APIKey, error) {
	var k store.APIKey
	var created int64
	var lastUsed, revoked sql.NullInt64
	var role, scopes string
	if err := row.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &k.Team, &k.Admin, &created, &lastUsed, &revoked, &role, &scopes); err != nil {
		return k, err
	}
	k.Role = store.Role(role)
	if scopes != "" {
		k.Scopes = strings.Split(scopes, ",")
	}
	k.CreatedAt = FromTime(created)
	k.LastUsedAt = FromNullTimePtr(lastUsed)
	k.RevokedAt = FromNullTimePtr(revoked)
	return k, nil
}

// TeamColumns are the teams columns ScanTeam reads, in order.
const TeamColumns = `id, name, created_at, quota_sandboxes, quota_cpus, quota_memory_mb, quota_disk_bytes, quota_build_minutes`

// ScanTeam reads a team from a row of TeamColumns.
func ScanTeam(row Scanner) (store.Team, error) {
	var t store.Team
	var created int64
	if err := row.Scan(&t.ID, &t.Name, &created, &t.Quota.Sandboxes, &t.Quota.CPUs, &t.Quota.MemoryMB,
		&t.Quota.DiskBytes, &t.Quota.BuildMinutes); err != nil {
		return t, err
	}
	t.CreatedAt = FromTime(created)
	return t, nil
}
