package store

import (
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// maxTemplateName bounds template names and tags.
const maxTemplateName = 128

// ValidateTemplateName checks a template name (without a tag): letters,
// digits, '-', '_' and '.', not starting with '.', as E2B's aliases.
func ValidateTemplateName(name string) error {
	return validateWord("template name", name)
}

// ValidateTag checks a tag of a template.
func ValidateTag(tag string) error {
	return validateWord("tag", tag)
}

func validateWord(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty: %w", what, errdefs.ErrInvalidArgument)
	case len(s) > maxTemplateName:
		return fmt.Errorf("%s longer than %d characters: %w", what, maxTemplateName, errdefs.ErrInvalidArgument)
	case s[0] == '.' || s[0] == '-':
		return fmt.Errorf("%s %q: must start with a letter, digit or '_': %w", what, s, errdefs.ErrInvalidArgument)
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("%s %q: only letters, digits, '-', '_' and '.' are allowed: %w", what, s, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// ValidateTemplate checks a template given to CreateTemplate.
func ValidateTemplate(t Template) error {
	if t.ID == "" {
		return fmt.Errorf("empty template id: %w", errdefs.ErrInvalidArgument)
	}
	if t.CPUCount < 0 || t.MemoryMB < 0 {
		return fmt.Errorf("template %q: negative resources: %w", t.ID, errdefs.ErrInvalidArgument)
	}
	if err := validateTexts([2]string{"template id", t.ID}, [2]string{"team", t.Team}); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, n := range t.Names {
		if err := ValidateTemplateName(n); err != nil {
			return err
		}
		if seen[n] {
			return fmt.Errorf("template %q: name %q given twice: %w", t.ID, n, errdefs.ErrInvalidArgument)
		}
		seen[n] = true
	}
	return nil
}

// ValidateBuild checks a build given to CreateBuild.
func ValidateBuild(b TemplateBuild) error {
	switch {
	case b.ID == "" || b.TemplateID == "":
		return fmt.Errorf("build needs an id and a template id: %w", errdefs.ErrInvalidArgument)
	case b.Status != BuildWaiting && b.Status != BuildBuilding && b.Status != BuildReady && b.Status != BuildError:
		return fmt.Errorf("build %q: unknown status %q: %w", b.ID, b.Status, errdefs.ErrInvalidArgument)
	case b.CPUCount < 0 || b.MemoryMB < 0 || b.SizeBytes < 0:
		return fmt.Errorf("build %q: negative resources: %w", b.ID, errdefs.ErrInvalidArgument)
	}
	return ValidateBuildTexts(b)
}

// ValidateBuildTexts checks the texts of a build that come from its
// request: ids, the request, and the result's settings.
func ValidateBuildTexts(b TemplateBuild) error {
	if err := validateTexts([2]string{"build id", b.ID}, [2]string{"template id", b.TemplateID},
		[2]string{"build request", b.Request}, [2]string{"workdir", b.Workdir}, [2]string{"user", b.User},
		[2]string{"start command", b.StartCmd}, [2]string{"ready command", b.ReadyCmd}, [2]string{"source", b.Source}); err != nil {
		return fmt.Errorf("build %q: %w", b.ID, err)
	}
	for _, l := range b.Layers {
		if err := ValidateText("layer", l); err != nil {
			return fmt.Errorf("build %q: %w", b.ID, err)
		}
	}
	if err := validateMap("env", b.Env); err != nil {
		return fmt.Errorf("build %q: %w", b.ID, err)
	}
	return nil
}
