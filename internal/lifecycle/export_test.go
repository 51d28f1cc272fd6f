package lifecycle

// OpLocks returns how many sandboxes have a pause/resume/kill lock entry.
func (m *Manager) OpLocks() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.opLocks)
}
