package runtime

import "strings"

// BuildTemplatePrefix starts the template name of every build sandbox
// (the sandbox a template build runs a step in, created from the
// build's own stack of layers); no template name can start with '.'.
const BuildTemplatePrefix = ".build-"

// IsBuildSandbox reports whether a sandbox of template (Info.Template)
// is a build sandbox: one no store records, which lives as long as its
// build step.
func IsBuildSandbox(template string) bool { return strings.HasPrefix(template, BuildTemplatePrefix) }
