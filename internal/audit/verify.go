package audit

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/store"
)

// Result is what Verify found.
type Result struct {
	// Entries is how many entries were checked.
	Entries int `json:"entries"`
	// Head is the last entry's hash: recorded elsewhere, it lets a later
	// verify detect entries removed from the end too.
	Head string `json:"head"`
	// BadID is the first entry whose chain is broken; 0 when none is.
	BadID int64 `json:"badID,omitempty"`
	// Problem says what is wrong with BadID.
	Problem string `json:"problem,omitempty"`
}

// OK reports whether the chain is whole.
func (r Result) OK() bool { return r.BadID == 0 }

// Verify walks the whole log from its anchor and checks that every entry
// follows the one before it and that its hash covers its fields.
func Verify(ctx context.Context, st store.Audit) (Result, error) {
	prev, err := st.AuditAnchor(ctx)
	if err != nil {
		return Result{}, err
	}
	var res Result
	var after, lastID int64
	for {
		page, err := st.ListAudit(ctx, store.AuditFilter{AfterID: after, Limit: 1000})
		if err != nil {
			return res, err
		}
		for _, e := range page {
			switch {
			case e.PrevHash != prev:
				res.BadID, res.Problem = e.ID, fmt.Sprintf("entry %d does not follow the entry before it: its previous hash is %.12s…, the chain has %.12s…", e.ID, e.PrevHash, prev)
			case lastID != 0 && e.ID != lastID+1:
				res.BadID, res.Problem = e.ID, fmt.Sprintf("entry %d follows entry %d: entries between them are missing", e.ID, lastID)
			case store.AuditHash(e) != e.Hash:
				res.BadID, res.Problem = e.ID, fmt.Sprintf("entry %d was changed after it was written: its fields do not hash to its hash", e.ID)
			}
			if res.BadID != 0 {
				return res, nil
			}
			res.Entries++
			prev, lastID = e.Hash, e.ID
		}
		if len(page) < 1000 {
			res.Head = prev
			return res, nil
		}
		after = page[len(page)-1].ID
	}
}
