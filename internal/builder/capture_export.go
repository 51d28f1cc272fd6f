package builder

// Capture copies the changes of a sandbox held still (its overlayfs upper
// directory upper, owned by host uids from hostUID) into the layer
// directory dst, as a build step's changes are kept: owners shifted back
// to the sandbox's own ids, whiteouts and opaque markers kept, the files
// the runtime writes into every sandbox left out.
func Capture(upper, dst string, hostUID uint32) error { return capture(upper, dst, hostUID) }
