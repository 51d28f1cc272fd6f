package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// MaxAuditText is the most bytes of a request's path (Target) or of an
// error message an entry keeps: the rest is cut, so a client cannot
// grow the log by more than this per request however long its path.
const MaxAuditText = 512

// AuditEntry is one line of the audit log: who did what, when, from
// where, and how it ended. Entries are hash-chained: each commits to the
// one before it, so an entry edited, removed or inserted afterwards
// breaks the chain from there on.
type AuditEntry struct {
	// ID numbers entries in the order they were written, from 1.
	ID int64 `json:"id"`
	// Time is when the call was answered.
	Time time.Time `json:"time"`
	// Team is the team of the key used, or of nobody ("") for a call
	// refused before a key was known.
	Team string `json:"team"`
	// KeyID and KeyPrefix name the key used; empty when none was valid.
	KeyID     string `json:"keyID"`
	KeyPrefix string `json:"keyPrefix"`
	// Action is the route ("POST /sandboxes/{id}/pause") or, for a
	// refused credential, the method and "authenticate".
	Action string `json:"action"`
	// Target is the request's path, naming the object acted on.
	Target string `json:"target"`
	// Remote is the client's address.
	Remote string `json:"remote"`
	// Status is the HTTP status answered.
	Status int `json:"status"`
	// Message is the error message answered, if any.
	Message string `json:"message,omitempty"`
	// PrevHash is the Hash of the entry before (the anchor for the first
	// entry kept: "" at the start of the log).
	PrevHash string `json:"prevHash"`
	// Hash is AuditHash of the entry under the log's key.
	Hash string `json:"hash"`
}

// AuditAnchorPoint is the last entry retention deleted, where the kept
// chain starts.
type AuditAnchorPoint struct {
	// LastID is the ID of the last entry deleted (0: none ever was).
	LastID int64
	// Hash is its Hash.
	Hash string
}

// AuditHash is the hex HMAC-SHA256 under key of the entry's fields but
// Hash, in a fixed order, with Time at the microsecond the store keeps.
// The key lives outside the database: without it, an edited entry's
// hash cannot be recomputed.
func AuditHash(key []byte, e AuditEntry) string {
	b, _ := json.Marshal([]any{e.ID, e.Time.UTC().UnixMicro(), e.Team, e.KeyID, e.KeyPrefix, e.Action,
		e.Target, e.Remote, e.Status, e.Message, e.PrevHash})
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	// AfterID selects entries after this one (0: from the first).
	AfterID int64
	// Since, if not zero, selects entries at or after it.
	Since time.Time
	// Team, if set, selects the team's entries.
	Team string
	// Limit is the most entries returned; 0 means 1000.
	Limit int
}

// SanitizeAudit is e as every backend keeps it: its texts come from
// requests (a path, a refused credential's message), which an audit log
// must record rather than refuse, so they are repaired as SanitizeText
// does, and each cut to MaxAuditText bytes, before the entry is hashed.
func SanitizeAudit(e AuditEntry) AuditEntry {
	for _, f := range []*string{&e.Team, &e.KeyID, &e.KeyPrefix, &e.Action, &e.Target, &e.Remote, &e.Message} {
		*f = cutText(SanitizeText(*f), MaxAuditText)
	}
	return e
}

// cutText returns s cut to at most n bytes at a character boundary,
// marked with "…" when cut.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	end := n - len(mark)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + mark
}
