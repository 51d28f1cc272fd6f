package builder

import (
	"strings"
	"sync"

	"github.com/soulbox/soulbox/internal/runtime"
)

// stackPrefix starts the names of build sandboxes' root filesystems; it
// cannot be a template name, which may not start with '.'.
const stackPrefix = runtime.BuildTemplatePrefix

// Stacks are the layer stacks of the build sandboxes now running, by the
// template name their sandbox is created with. The server's template
// resolver asks it first.
type Stacks struct {
	mu sync.Mutex
	m  map[string][]string
}

// Layers returns the stack registered as name.
func (s *Stacks) Layers(name string) ([]string, bool) {
	if !strings.HasPrefix(name, stackPrefix) {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.m[name]
	return l, ok
}

func (s *Stacks) add(name string, layers []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]string{}
	}
	s.m[name] = layers
}

func (s *Stacks) remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, name)
}
