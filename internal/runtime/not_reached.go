package runtime

import "errors"

// ErrNotReached marks a call a driver could not deliver to the node
// that was to run it: the connection to a joined node was refused or
// could not be made, or its TLS handshake failed. The node received
// nothing and did nothing, so a create may go to another node instead.
// An error in the middle of a call (a connection reset once the request
// was sent, a deadline) is not this: the node may have acted on it.
var ErrNotReached = errors.New("the node was not reached")
