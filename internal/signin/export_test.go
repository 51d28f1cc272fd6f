package signin

import "time"

// SetClock makes v read the time from now.
func SetClock(v *Verifier, now func() time.Time) { v.now = now }

// FailBackoff is failBackoff, for tests.
const FailBackoff = failBackoff
