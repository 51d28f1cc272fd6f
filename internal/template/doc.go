// Package template is the registry of sandbox templates and the builder of
// the default one, "base".
//
// A template is a set of read-only root-filesystem layers that every sandbox
// made from it shares; the runtime driver stacks a per-sandbox writable
// overlay on top. Templates are built on first use and cached under the
// store's directory:
//
//	<dir>/<name>.lock                      flock held while checking and building
//	<dir>/<name>/manifest.json             written last, by atomic rename
//	<dir>/<name>/<build>/rootfs            the layer(s) the manifest points at
//	<dir>/<name>/.build-*/                 a build in progress (never counted)
//
// A template counts as built only when its manifest exists and names the
// current recipe version. The version is a short hash of the recipe (suite,
// packages, setup revision; not the mirror), so changing the recipe builds a
// new version while an unchanged one is never rebuilt unless asked.
package template
