package network

// Counters reports the bytes sandbox id received and sent on its link,
// read from the host side of its veth pair (whose receive is the
// sandbox's send); ok is false when the sandbox has no link.
func (m *Manager) Counters(id string) (rx, tx uint64, ok bool) {
	for _, l := range m.linksOf(id) {
		st := l.Attrs().Statistics
		if st == nil {
			continue
		}
		rx += st.TxBytes
		tx += st.RxBytes
		ok = true
	}
	return rx, tx, ok
}
