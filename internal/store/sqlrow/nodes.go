package sqlrow

import (
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/soulbox/soulbox/internal/store"
)

// NodeTokenColumns are the node_tokens columns ScanNodeToken reads, in
// order.
const NodeTokenColumns = `id, hash, created_at, expires_at, used_at, used_by, revoked_at`

// ScanNodeToken reads a join token from a row of NodeTokenColumns.
func ScanNodeToken(row Scanner) (store.NodeToken, error) {
	var t store.NodeToken
	var created, expires int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&t.ID, &t.Hash, &created, &expires, &used, &t.UsedBy, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt, t.ExpiresAt = FromTime(created), FromTime(expires)
	t.UsedAt, t.RevokedAt = FromNullTimePtr(used), FromNullTimePtr(revoked)
	return t, nil
}

// NodeColumns are the nodes columns ScanNode reads, in order.
const NodeColumns = `id, embedded, status, status_reason, status_by, status_at, cert_fingerprint, joined_at, heartbeat_at, report, key_fingerprint, previous_cert_fingerprint`

// ScanNode reads a node from a row of NodeColumns.
func ScanNode(row Scanner) (store.Node, error) {
	var n store.Node
	var status string
	var statusAt, joined int64
	var heartbeat sql.NullInt64
	var report sql.NullString
	if err := row.Scan(&n.ID, &n.Embedded, &status, &n.StatusReason, &n.StatusBy, &statusAt, &n.CertFingerprint, &joined, &heartbeat, &report, &n.KeyFingerprint, &n.PreviousCertFingerprint); err != nil {
		return n, err
	}
	n.Status = store.NodeStatus(status)
	n.StatusAt, n.JoinedAt, n.HeartbeatAt = FromTime(statusAt), FromTime(joined), FromNullTime(heartbeat)
	if report.Valid && report.String != "" {
		if err := json.Unmarshal([]byte(report.String), &n.Report); err != nil {
			return n, fmt.Errorf("node %q: report: %w", n.ID, err)
		}
	}
	return n, nil
}

// NodeReport is a heartbeat's report as a column value.
func NodeReport(r store.NodeReport) string {
	b, _ := json.Marshal(r) // plain fields: cannot fail
	return string(b)
}
