// Package version holds the build's version, set at link time:
//
//	go build -ldflags "-X github.com/soulbox/soulbox/internal/version.Version=v0.1.0"
package version

// Version is the SoulBox release this binary was built from.
var Version = "0.1.0-dev"
