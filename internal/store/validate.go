package store

import (
	"fmt"
	"slices"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// The checks below are the input rules of the Store interface. Backends call
// them first so that every backend refuses the same inputs the same way.

// ValidateID checks a sandbox id argument.
func ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("empty sandbox id: %w", errdefs.ErrInvalidArgument)
	}
	return ValidateText("sandbox id", id)
}

// ValidateNew checks a sandbox given to CreateSandbox.
func ValidateNew(sb Sandbox) error {
	if err := ValidateID(sb.ID); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("sandbox %q: %s: %w", sb.ID, fmt.Sprintf(format, args...), errdefs.ErrInvalidArgument)
	}
	switch {
	case sb.TemplateID == "":
		return bad("empty template id")
	case !sb.State.Valid():
		return bad("unknown state %q", sb.State)
	case sb.State == StateEnded || sb.EndReason != "" || sb.EndMessage != "" || sb.EndedAt != nil:
		// An end needs a reason and an event; only EndSandbox records both.
		return bad("a new sandbox cannot be ended")
	case sb.CPUCount < 0 || sb.MemoryMB < 0 || sb.DiskMB < 0:
		return bad("negative resources (cpu %d, memory %d MB, disk %d MB)", sb.CPUCount, sb.MemoryMB, sb.DiskMB)
	}
	if _, ok := sb.Metadata[""]; ok {
		return bad("empty metadata key")
	}
	texts := [][2]string{{"template id", sb.TemplateID}, {"alias", sb.Alias}, {"client id", sb.ClientID},
		{"envd access token", sb.EnvdAccessToken}, {"runtime", sb.Runtime}, {"traffic access token", sb.TrafficAccessToken},
		{"node", sb.Node}}
	if n := sb.Network; n != nil {
		texts = append(texts, [2]string{"mask request host", n.MaskRequestHost})
		for _, c := range append(slices.Clone(n.AllowOut), n.DenyOut...) {
			texts = append(texts, [2]string{"network rule", c})
		}
	}
	if err := validateTexts(texts...); err != nil {
		return fmt.Errorf("sandbox %q: %w", sb.ID, err)
	}
	if err := validateMap("metadata", sb.Metadata); err != nil {
		return fmt.Errorf("sandbox %q: %w", sb.ID, err)
	}
	return nil
}

// ValidateFilter checks a filter given to ListSandboxes.
func ValidateFilter(f SandboxFilter) error {
	for _, s := range f.States {
		if !s.Valid() {
			return fmt.Errorf("filter: unknown state %q: %w", s, errdefs.ErrInvalidArgument)
		}
	}
	if _, ok := f.Metadata[""]; ok {
		return fmt.Errorf("filter: empty metadata key: %w", errdefs.ErrInvalidArgument)
	}
	if err := ValidateText("filter: template id", f.TemplateID); err != nil {
		return err
	}
	if err := validateMap("filter: metadata", f.Metadata); err != nil {
		return err
	}
	return nil
}

// ValidateTransition checks the arguments of SetState.
func ValidateTransition(id string, from []SandboxState, to SandboxState, ev Event) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("sandbox %q: set state: %s: %w", id, fmt.Sprintf(format, args...), errdefs.ErrInvalidArgument)
	}
	if len(from) == 0 {
		return bad("no from states")
	}
	for _, s := range from {
		if !s.Valid() {
			return bad("unknown from state %q", s)
		}
		if s == StateEnded {
			return bad("ended is terminal")
		}
	}
	switch {
	case !to.Valid():
		return bad("unknown state %q", to)
	case to == StateEnded:
		return bad("use EndSandbox to end a sandbox")
	case ev.Type == "":
		return bad("event without a type")
	case ev.SandboxID != "" && ev.SandboxID != id:
		return bad("event is for sandbox %q", ev.SandboxID)
	}
	// The message is repaired by the backends (SanitizeText); the type
	// is a word the caller chose.
	if err := ValidateText("event type", ev.Type); err != nil {
		return fmt.Errorf("sandbox %q: set state: %w", id, err)
	}
	return nil
}

// ValidateEnd checks the arguments of EndSandbox.
func ValidateEnd(id string, reason EndReason) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	if !reason.Valid() {
		return fmt.Errorf("sandbox %q: unknown end reason %q: %w", id, reason, errdefs.ErrInvalidArgument)
	}
	return nil
}

// ValidateEndAt checks the arguments of SetEndAt.
func ValidateEndAt(id string, at time.Time) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	if at.IsZero() {
		return fmt.Errorf("sandbox %q: zero end time: %w", id, errdefs.ErrInvalidArgument)
	}
	return nil
}
