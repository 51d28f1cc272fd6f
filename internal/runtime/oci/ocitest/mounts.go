package ocitest

import "github.com/soulbox/soulbox/internal/mountinfo"

// mountsUnder lists mount points at or below dir.
func mountsUnder(dir string) []string {
	out, _ := mountinfo.Under(dir)
	return out
}
