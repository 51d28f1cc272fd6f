package store

import "context"

// Leader is an optional ability of a store that several processes share
// (found by type assertion): it elects one holder of a named leadership at
// a time, so that work that must happen once, such as firing a sandbox's
// timeout, is done by one process however many run. A store of one process
// (SQLite) does not need it.
type Leader interface {
	// TryLead takes the leadership name if no one holds it, and fails
	// with ErrFailedPrecondition at once if someone does.
	TryLead(ctx context.Context, name string) (Lease, error)
	// Lead waits until it holds the leadership name, or ctx ends.
	Lead(ctx context.Context, name string) (Lease, error)
	// TryShare holds name together with any other sharers, and fails
	// with ErrFailedPrecondition at once if someone leads it (TryLead,
	// Lead); while it is shared, TryLead of name fails and Lead waits.
	TryShare(ctx context.Context, name string) (Lease, error)
}

// TryLeader takes leaderships without waiting (Leader.TryLead).
type TryLeader interface {
	TryLead(ctx context.Context, name string) (Lease, error)
}

// StepLeader is an optional ability of a Leader (found by type
// assertion): StepLeases takes many short leaderships held at once, such
// as one per pause or resume under way, at the cost of one database
// session for all of them rather than one each. They exclude, and are
// excluded by, the Leader's leaderships of the same names, in any
// process; one process holds a name once.
type StepLeader interface {
	StepLeases() TryLeader
}

// Lease is a held leadership.
type Lease interface {
	// Lost is closed when the leadership ends without Release: the
	// store lost its hold (its connection broke), and another process may
	// lead from then on. Work done as leader must stop.
	Lost() <-chan struct{}
	// Release gives the leadership up. It is safe to call more than once
	// and after Lost.
	Release() error
}

// EventWatcher is an optional ability of a store that several processes
// share (found by type assertion): it tells a process that events were
// recorded, by any process, so that readers of the log (GET /events)
// need not read it on a timer. A store of one process does not need it:
// its writes are announced where they are made (store/notify).
type EventWatcher interface {
	// WatchEvents calls changed soon after each transaction that
	// recorded events commits (several may share a call), and whenever
	// it may have missed some (its connection broke and was made
	// again), until ctx ends. changed must not block.
	WatchEvents(ctx context.Context, changed func())
}
