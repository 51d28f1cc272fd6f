package template

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// baseRevision names the revision of the base setup steps (user, sudoers,
// cleanup; see base.go). Bump it whenever those steps change so that caches
// built by the old steps stop counting as current.
const baseRevision = 3

// basePackages are installed into base on top of debootstrap's minbase.
// They match what E2B's code-interpreter template offers agents: a shell,
// git and curl, Python with the usual data stack, and Node.js.
var basePackages = []string{
	"bash", "coreutils", "procps", "git", "curl", "ca-certificates", "sudo",
	"python3", "python3-numpy", "python3-pandas", "python3-matplotlib",
	"python-is-python3", "nodejs", "iproute2", "less",
	// The code interpreter's Python engine (IPython) and the inline
	// backend that turns open matplotlib figures into PNG results.
	"python3-ipython", "python3-matplotlib-inline",
}

// recipe is everything that decides the content of a template build.
type recipe struct {
	Template string   `json:"template"`
	Revision int      `json:"revision"`
	Suite    string   `json:"suite"`
	Variant  string   `json:"variant"`
	Packages []string `json:"packages"`
}

func baseRecipe(suite string) recipe {
	return recipe{
		Template: "base",
		Revision: baseRevision,
		Suite:    suite,
		Variant:  "minbase",
		Packages: basePackages,
	}
}

// version is a short hash of the recipe. The mirror is deliberately not part
// of it: any mirror of a suite serves the same packages, and switching mirrors
// must not throw away a 1.7 GB build.
func (r recipe) version() string {
	b, err := json.Marshal(r)
	if err != nil {
		// A struct of strings and ints always marshals.
		panic("template: marshal recipe: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}
