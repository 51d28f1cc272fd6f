package audit

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/soulbox/soulbox/internal/store"
)

// PruneAction is the action of the entry the retention writes after
// deleting old entries; its Target names the new anchor.
const PruneAction = "PRUNE audit"

// pruneEntry is the record of a prune that left anchor a.
func pruneEntry(a store.AuditAnchorPoint) store.AuditEntry {
	return store.AuditEntry{Action: PruneAction, Target: pruneTarget(a), Status: 200}
}

func pruneTarget(a store.AuditAnchorPoint) string {
	return "through " + strconv.FormatInt(a.LastID, 10) + " " + a.Hash
}

// Result is what Verify found.
type Result struct {
	// Entries is how many entries were checked.
	Entries int `json:"entries"`
	// HeadID is the last entry's ID and Head its hash: recorded
	// elsewhere, they let a later verify (ExpectHead) detect entries
	// removed from the end too, which nothing in the database can.
	HeadID int64  `json:"headID"`
	Head   string `json:"head"`
	// BadID is the first entry whose chain is broken; 0 when none is, or
	// when what is wrong is not one entry (Problem says).
	BadID int64 `json:"badID,omitempty"`
	// Problem says what is wrong; "" when nothing is.
	Problem string `json:"problem,omitempty"`
}

// OK reports whether the chain is whole.
func (r Result) OK() bool { return r.Problem == "" }

// pageSize is how many entries Verify reads at a time.
const pageSize = 1000

// Verify walks the whole log from its anchor and checks that every entry
// follows the one before it, that its hash is the HMAC under key of its
// fields, that the first entry follows the anchor by ID, and that an
// anchor (entries pruned) is named by the last prune's own entry.
//
// What it detects: an entry edited, inserted, reordered or deleted
// anywhere but at the end; entries deleted from the start with the
// anchor moved to match. What it cannot: entries deleted from the end
// (compare HeadID/Head with a head recorded elsewhere: ExpectHead), and
// anything done by someone who holds the key.
func Verify(ctx context.Context, st store.Audit, key []byte) (Result, error) {
	anchor, first, err := start(ctx, st)
	if err != nil {
		return Result{}, err
	}
	var res Result
	prev, lastID := anchor.Hash, anchor.LastID
	var lastPrune string
	page := first
	for {
		for _, e := range page {
			switch {
			case e.ID != lastID+1 && lastID == anchor.LastID && anchor.LastID != 0:
				res.BadID, res.Problem = e.ID, fmt.Sprintf("entry %d is the first kept, but the anchor says entry %d was the last deleted: entries between them are missing", e.ID, anchor.LastID)
			case e.ID != lastID+1 && lastID != 0:
				res.BadID, res.Problem = e.ID, fmt.Sprintf("entry %d follows entry %d: entries between them are missing", e.ID, lastID)
			case e.ID != lastID+1:
				res.BadID, res.Problem = e.ID, fmt.Sprintf("entry %d is the first, but nothing was ever pruned: entries before it are missing", e.ID)
			case e.PrevHash != prev:
				res.BadID, res.Problem = e.ID, fmt.Sprintf("entry %d does not follow the entry before it: its previous hash is %.12s…, the chain has %.12s…", e.ID, e.PrevHash, prev)
			case store.AuditHash(key, e) != e.Hash:
				res.BadID, res.Problem = e.ID, fmt.Sprintf("entry %d was changed after it was written, or written without this server's audit key: its fields do not hash to its hash", e.ID)
			}
			if res.BadID != 0 {
				return res, nil
			}
			if e.Action == PruneAction {
				lastPrune = e.Target
			}
			res.Entries++
			prev, lastID = e.Hash, e.ID
			res.HeadID, res.Head = e.ID, e.Hash
		}
		if len(page) < pageSize {
			break
		}
		if page, err = st.ListAudit(ctx, store.AuditFilter{AfterID: lastID, Limit: pageSize}); err != nil {
			return res, err
		}
	}
	if anchor.LastID != 0 && lastPrune != pruneTarget(anchor) {
		res.Problem = fmt.Sprintf("entries through %d were deleted, but no prune entry records it (last prune: %q): they were deleted by hand", anchor.LastID, lastPrune)
	}
	if res.HeadID == 0 {
		res.HeadID, res.Head = anchor.LastID, anchor.Hash
	}
	return res, nil
}

// start reads the anchor and the first page of entries as one snapshot:
// a prune between the two reads would make a whole chain look broken, so
// they are read again until the anchor did not move.
func start(ctx context.Context, st store.Audit) (store.AuditAnchorPoint, []store.AuditEntry, error) {
	for {
		a, err := st.AuditAnchor(ctx)
		if err != nil {
			return a, nil, err
		}
		page, err := st.ListAudit(ctx, store.AuditFilter{Limit: pageSize})
		if err != nil {
			return a, nil, err
		}
		again, err := st.AuditAnchor(ctx)
		if err != nil {
			return a, nil, err
		}
		if again == a {
			return a, page, nil
		}
	}
}

// ExpectHead checks res against a head recorded earlier, given as its
// hash or as "ID:hash": the log must still hold that entry, unchanged,
// at or before its end. It returns "" if so, else what is wrong.
func ExpectHead(ctx context.Context, st store.Audit, res Result, head string) (string, error) {
	id, hash, hasID := strings.Cut(head, ":")
	if !hasID {
		id, hash = "", head
	}
	if hash == res.Head && (id == "" || id == strconv.FormatInt(res.HeadID, 10)) {
		return "", nil
	}
	// Not the head now: the log may have grown since. The recorded entry
	// must still be in it, or have been pruned by retention, which Verify
	// checked was recorded.
	if n, err := strconv.ParseInt(id, 10, 64); hasID && err == nil {
		a, err := st.AuditAnchor(ctx)
		if err != nil {
			return "", err
		}
		if n <= a.LastID {
			return "", nil
		}
	}
	var after int64
	for {
		page, err := st.ListAudit(ctx, store.AuditFilter{AfterID: after, Limit: pageSize})
		if err != nil {
			return "", err
		}
		for _, e := range page {
			if e.Hash == hash && (id == "" || id == strconv.FormatInt(e.ID, 10)) {
				return "", nil
			}
		}
		if len(page) < pageSize {
			break
		}
		after = page[len(page)-1].ID
	}
	return fmt.Sprintf("the recorded head %s is not in the log (its head now is %d:%s): entries were removed from its end, or the head was pruned by retention", head, res.HeadID, res.Head), nil
}
