package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
)

// listen binds the API listener and, with TLS on, the sandbox hosts' 443
// beside it: the E2B SDKs reach https://<port>-<id>.<domain> and
// https://api.<domain> on 443, so with only E2B_DOMAIN set they find the
// server there. Both serve the same routes.
func (s *Server) listen(tc *tls.Config) error {
	if err := s.listenDashboard(tc); err != nil {
		return err
	}
	l, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	if tc == nil {
		s.listener = l
		if a, ok := l.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
			s.log.Warn("serving plain HTTP on a non-loopback address: API keys and sandbox traffic cross the network unencrypted; use --tls",
				slog.String("listen", l.Addr().String()))
		}
		return nil
	}
	s.listener = tls.NewListener(l, tc)
	addr := s.cfg.httpsListen()
	if addr == "" {
		return nil
	}
	if l, err = net.Listen("tcp", addr); err != nil {
		return fmt.Errorf("listen on %s for sandbox hosts (--https-listen, or off): %w", addr, err)
	}
	s.httpsListener = tls.NewListener(l, tc)
	return nil
}

// listeners are the bound listeners.
func (s *Server) listeners() []net.Listener {
	var out []net.Listener
	for _, l := range []net.Listener{s.listener, s.httpsListener, s.dashboardL} {
		if l != nil {
			out = append(out, l)
		}
	}
	return out
}

// HTTPSAddr is the address sandbox hosts are served on beside Addr, or ""
// when there is none.
func (s *Server) HTTPSAddr() string {
	if s.httpsListener == nil {
		return ""
	}
	return s.httpsListener.Addr().String()
}
