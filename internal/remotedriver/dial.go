package remotedriver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
)

// DialContext implements runtime.Dialer: a stream of the node's Dial
// call carries the connection. ctx bounds connecting only; the
// connection lives until Close.
func (d *Driver) DialContext(ctx context.Context, id string, port int) (net.Conn, error) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	stream := d.c.Dial(sctx)
	fail := func(err error) (net.Conn, error) {
		stop()
		cancel()
		_ = stream.CloseRequest()
		_ = stream.CloseResponse()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("sandbox %q port %d: %w", id, port, d.wireErr(err))
	}
	if err := stream.Send(&nodev1.DialFrame{Id: id, Port: int32(port)}); err != nil && !errors.Is(err, io.EOF) {
		return fail(err)
	}
	// The node answers an empty frame once connected, or the error.
	if _, err := stream.Receive(); err != nil {
		return fail(err)
	}
	if !stop() { // ctx ended meanwhile
		cancel()
		_ = stream.CloseRequest()
		_ = stream.CloseResponse()
		return nil, ctx.Err()
	}
	c := &conn{stream: stream, cancel: cancel, node: d.node, id: id, port: port}
	return c, nil
}

// conn is a connection carried by a Dial stream. Deadlines end it: a
// read or write past one fails, and the connection is closed.
type conn struct {
	stream     *connect.BidiStreamForClient[nodev1.DialFrame, nodev1.DialFrame]
	cancel     context.CancelFunc
	node, id   string
	port       int
	rbuf       []byte
	rmu, wmu   sync.Mutex
	closeOnce  sync.Once
	dlMu       sync.Mutex
	deadline   *time.Timer
	timedOut   bool
	halfClosed bool
}

func (c *conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for len(c.rbuf) == 0 {
		f, err := c.stream.Receive()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, c.err(err)
		}
		c.rbuf = f.GetData()
	}
	n := copy(p, c.rbuf)
	c.rbuf = c.rbuf[n:]
	return n, nil
}

func (c *conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.halfClosed {
		return 0, net.ErrClosed
	}
	for off := 0; off < len(p); {
		n := min(len(p)-off, 1<<20)
		if err := c.stream.Send(&nodev1.DialFrame{Data: p[off : off+n]}); err != nil {
			return off, c.err(err)
		}
		off += n
	}
	return len(p), nil
}

func (c *conn) err(err error) error {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if c.timedOut {
		return os.ErrDeadlineExceeded
	}
	return err
}

// CloseWrite ends what the sandbox reads; its answer can still be read.
func (c *conn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.halfClosed = true
	return c.stream.CloseRequest()
}

func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		c.wmu.Lock()
		if !c.halfClosed {
			_ = c.stream.CloseRequest()
			c.halfClosed = true
		}
		c.wmu.Unlock()
		c.cancel()
		_ = c.stream.CloseResponse()
		c.dlMu.Lock()
		if c.deadline != nil {
			c.deadline.Stop()
		}
		c.dlMu.Unlock()
	})
	return nil
}

type addr string

func (a addr) Network() string { return "soulbox-node" }
func (a addr) String() string  { return string(a) }

func (c *conn) LocalAddr() net.Addr { return addr("control-plane") }
func (c *conn) RemoteAddr() net.Addr {
	return addr(fmt.Sprintf("%s/%s:%d", c.node, c.id, c.port))
}

// SetDeadline ends the connection at t (a zero t: no deadline).
func (c *conn) SetDeadline(t time.Time) error {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if c.deadline != nil {
		c.deadline.Stop()
		c.deadline = nil
	}
	if t.IsZero() {
		return nil
	}
	c.deadline = time.AfterFunc(time.Until(t), func() {
		c.dlMu.Lock()
		c.timedOut = true
		c.dlMu.Unlock()
		c.cancel()
	})
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error  { return c.SetDeadline(t) }
func (c *conn) SetWriteDeadline(t time.Time) error { return c.SetDeadline(t) }
