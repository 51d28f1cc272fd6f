package network

// DNSPort is the port m's DNS forwarder listens on, for tests.
func DNSPort(m *Manager) uint16 { return m.dns.port }
