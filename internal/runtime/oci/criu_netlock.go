package oci

import (
	"os/exec"
	"sync"
)

// criuNFTablesLock is CRIU's network lock by nftables: one netlink
// transaction inside CRIU each way. CRIU's default, iptables, runs
// iptables-restore in the sandbox's network namespace to lock and again
// to unlock, which took 50 to 200 ms of each pause and about 60 ms of
// each resume on a busy 2-core host.
const criuNFTablesLock = "nftables"

var criuNetLock struct {
	mu   sync.Mutex
	lock map[string]string // criu binary -> its lock method ("": CRIU's default)
}

// criuNetworkLock is the network lock method a checkpoint with CRIU binary
// criu uses: nftables where this CRIU was built with it and the kernel
// has what it needs, else "" (CRIU's default, iptables). A checkpoint
// records the method (checkpointMeta.NetworkLock) and its restore locks
// and unlocks the same way. (The restored sandbox gets a new network
// namespace, so the lock a pause leaves in the old one is not what it
// runs with; the method is kept alike all the same.)
func criuNetworkLock(criu string) string {
	criuNetLock.mu.Lock()
	defer criuNetLock.mu.Unlock()
	if criuNetLock.lock == nil {
		criuNetLock.lock = map[string]string{}
	}
	lock, ok := criuNetLock.lock[criu]
	if !ok {
		if exec.Command(criu, "check", "--feature", "network_lock_nftables").Run() == nil {
			lock = criuNFTablesLock
		}
		criuNetLock.lock[criu] = lock
	}
	return lock
}

// networkLockOption is the CRIU configuration line of a lock method, or
// none for CRIU's default.
func networkLockOption(lock string) []string {
	if lock == "" {
		return nil
	}
	return []string{"network-lock " + lock}
}
