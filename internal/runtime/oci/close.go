package oci

// Close lets go of every network namespace and pidfd kept for dials
// (dialcache.go), dials under way finishing with what they hold and
// keeping nothing, and of the user namespaces kept for mounts (idmap.go).
// The sandboxes are left as they are: a driver made again over the same
// root finds them. Close always returns nil.
func (d *Driver) Close() error {
	d.dials.close()
	_ = d.userns.close()
	return nil
}
