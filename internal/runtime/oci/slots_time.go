package oci

import "time"

// claimGrace is how long a claim counts without its owner's state file:
// Create writes the claim, then the state, within milliseconds.
const claimGrace = 10 * time.Second

var timeSince = time.Since
