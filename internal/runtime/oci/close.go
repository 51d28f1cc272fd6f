package oci

// Close lets go of every network namespace and pidfd kept for dials
// (dialcache.go); dials under way finish with what they hold and keep
// nothing. The sandboxes are left as they are: a driver made again over
// the same root finds them. Close always returns nil.
func (d *Driver) Close() error {
	d.dials.close()
	return nil
}
