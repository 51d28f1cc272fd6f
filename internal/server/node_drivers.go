package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/noderoute"
	"github.com/soulbox/soulbox/internal/proxy"
	"github.com/soulbox/soulbox/internal/remotedriver"
	"github.com/soulbox/soulbox/internal/telemetry"
)

// addressTTL is how long a joined node's sandbox service address is
// used before the store is asked again (a node that restarted elsewhere
// is found within it).
const addressTTL = 5 * time.Second

// nodeDrivers are the remote drivers of the joined nodes, one per node,
// made on first use with the control plane's client certificate (asked
// at each handshake: it is renewed before it expires).
type nodeDrivers struct {
	mu      sync.Mutex
	reg     nodeServices
	cert    func(*tls.CertificateRequestInfo) (*tls.Certificate, error)
	ca      *x509.CertPool
	drivers map[string]*nodeDriver
}

// nodeServices is what the drivers ask of the registry
// (registry.Registry): where a node's service is and under which key,
// and the calls that could not reach it.
type nodeServices interface {
	Service(ctx context.Context, node string) (addr, key string, err error)
	ServiceFailed(node, addr string, err error)
}

type nodeDriver struct {
	addr, key string // the service's address and pinned key
	checked   time.Time
	d         *remotedriver.Driver
}

// use sets what the drivers need once the registry is open.
func (n *nodeDrivers) use(reg nodeServices, cert func(*tls.CertificateRequestInfo) (*tls.Certificate, error), ca *x509.CertPool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.reg, n.cert, n.ca = reg, cert, ca
}

// driver is the remote driver of node.
func (n *nodeDrivers) driver(ctx context.Context, node string) (noderoute.Remote, error) {
	n.mu.Lock()
	reg := n.reg
	e := n.drivers[node]
	fresh := e != nil && time.Since(e.checked) < addressTTL
	n.mu.Unlock()
	if reg == nil {
		return nil, fmt.Errorf("the node registry is not open yet: %w", errdefs.ErrUnavailable)
	}
	if fresh {
		return e.d, nil
	}
	addr, key, err := reg.Service(ctx, node)
	if err != nil {
		if e != nil && !errdefs.IsNotFound(err) && !errdefs.IsFailedPrecondition(err) && ctx.Err() == nil {
			return e.d, nil // the store did not answer: the last address
		}
		return nil, err
	}
	d, err := n.driverAt(node, addr, key)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// driverAt is node's driver for its service at addr under the key of
// fingerprint key: the one in use if it is for both, else a new one
// that replaces it.
func (n *nodeDrivers) driverAt(node, addr, key string) (*remotedriver.Driver, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e := n.drivers[node]; e != nil && e.addr == addr && e.key == key {
		e.checked = time.Now()
		return e.d, nil
	}
	d, err := remotedriver.New(remotedriver.Config{Node: node, Addr: addr, GetClientCertificate: n.cert, CA: n.ca, KeyFingerprint: key,
		Unreachable: func(err error) { n.callFailed(node, addr, key, err) }})
	if err != nil {
		return nil, err
	}
	if n.drivers == nil {
		n.drivers = map[string]*nodeDriver{}
	}
	n.drivers[node] = &nodeDriver{addr: addr, key: key, checked: time.Now(), d: d}
	return d, nil
}

// callFailed is told of a call of node's driver for addr and key that
// did not reach the node. A key other than the pinned one is first
// checked against the store: a node that renewed its key since the
// driver was made is not unreachable; its driver is dropped, and the
// next call makes one for the new key. Anything else is the registry's
// to count (registry.ServiceFailed).
func (n *nodeDrivers) callFailed(node, addr, key string, err error) {
	n.mu.Lock()
	reg := n.reg
	n.mu.Unlock()
	if errors.Is(err, errdefs.ErrPermissionDenied) {
		ctx, cancel := context.WithTimeout(context.Background(), addressTTL)
		_, stored, serr := reg.Service(ctx, node)
		cancel()
		if serr == nil && stored != key {
			n.mu.Lock()
			if e := n.drivers[node]; e != nil && e.key == key {
				delete(n.drivers, node)
			}
			n.mu.Unlock()
			return
		}
	}
	reg.ServiceFailed(node, addr, err)
}

// probe checks that node's sandbox service answers at addr, under the
// key it joined with, for the registry's placement (registry.Prober):
// through the node's driver, made for addr if the one in use is for
// another address.
func (n *nodeDrivers) probe(ctx context.Context, node, addr string) error {
	n.mu.Lock()
	reg := n.reg
	n.mu.Unlock()
	if reg == nil {
		return fmt.Errorf("the node registry is not open yet: %w", errdefs.ErrUnavailable)
	}
	_, key, err := reg.Service(ctx, node)
	if err != nil {
		return err
	}
	d, err := n.driverAt(node, addr, key)
	if err != nil {
		return err
	}
	return d.Ping(ctx)
}

// routeDriver is the driver lifecycle uses: with a node listener, a
// router that sends each sandbox's calls to its node (the embedded
// node's in-process); without one, d itself, exactly as a single host.
func (s *Server) routeDriver(d telemetry.Driver) telemetry.Driver {
	if s.cfg.NodeListen == "" {
		return d
	}
	s.nodeDrivers = &nodeDrivers{}
	s.router = noderoute.New(d, func(ctx context.Context, id string) (string, error) {
		sb, err := s.store.GetSandbox(ctx, id)
		return sb.Node, err
	}, s.nodeDrivers.driver)
	return s.router
}

// sandboxDial is how the proxy reaches a sandbox's ports: through its
// node's driver.
func (s *Server) sandboxDial() proxy.DialFunc {
	if s.router != nil {
		return s.router.DialContext
	}
	return s.driver.DialContext
}
