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
	stream := d.dials.Dial(sctx)
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
	c := &conn{stream: stream, cancel: cancel, node: d.node, id: id, port: port,
		frames: make(chan []byte), ended: make(chan struct{}), closed: make(chan struct{})}
	c.rdl = newDeadline()
	c.wdl = newDeadline()
	go c.receive()
	return c, nil
}

// conn is a connection carried by a Dial stream. Its read and write
// deadlines are apart and can be moved: a Read past the read deadline
// fails with os.ErrDeadlineExceeded and the connection stays usable. A
// Write whose deadline passes while it waits for the node to take its
// bytes ends the connection (as a TLS connection's does: what part of
// the bytes went is unknown); one called past the deadline fails and
// changes nothing.
type conn struct {
	stream    *connect.BidiStreamForClient[nodev1.DialFrame, nodev1.DialFrame]
	cancel    context.CancelFunc
	node, id  string
	port      int
	frames    chan []byte   // what the sandbox sent, from receive
	ended     chan struct{} // closed once receive ends; rerr says why
	rerr      error
	closed    chan struct{}
	rbuf      []byte
	rmu, wmu  sync.Mutex
	closeOnce sync.Once
	rdl, wdl  *deadline

	hmu        sync.Mutex
	halfClosed bool
	timedOut   bool // a write deadline ended the stream
}

// receive moves the sandbox's frames to Read until the stream ends.
func (c *conn) receive() {
	defer close(c.ended)
	defer c.stream.CloseResponse()
	for {
		f, err := c.stream.Receive()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.rerr = err
			}
			return
		}
		if len(f.GetData()) == 0 {
			continue
		}
		select {
		case c.frames <- f.GetData():
		case <-c.closed:
			return
		}
	}
}

func (c *conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(c.rbuf) == 0 {
		select {
		case <-c.closed:
			return 0, net.ErrClosed
		default:
		}
		select {
		case b := <-c.frames:
			c.rbuf = b
		case <-c.ended:
			select { // frames sent before the end come first
			case b := <-c.frames:
				c.rbuf = b
			default:
				if c.rerr != nil {
					return 0, c.err(c.rerr)
				}
				return 0, io.EOF
			}
		case <-c.rdl.wait():
			return 0, os.ErrDeadlineExceeded
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
	n := copy(p, c.rbuf)
	c.rbuf = c.rbuf[n:]
	return n, nil
}

func (c *conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.hmu.Lock()
	half := c.halfClosed
	c.hmu.Unlock()
	if half {
		return 0, net.ErrClosed
	}
	if c.wdl.passed() {
		return 0, os.ErrDeadlineExceeded
	}
	// A write deadline passing while a frame waits ends the stream.
	stop := c.wdl.onPass(func() {
		c.hmu.Lock()
		c.timedOut = true
		c.hmu.Unlock()
		c.cancel()
	})
	defer stop()
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
	c.hmu.Lock()
	defer c.hmu.Unlock()
	if c.timedOut {
		return os.ErrDeadlineExceeded
	}
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	return err
}

// CloseWrite ends what the sandbox reads; its answer can still be read.
func (c *conn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.hmu.Lock()
	defer c.hmu.Unlock()
	if c.halfClosed {
		return nil
	}
	c.halfClosed = true
	return c.stream.CloseRequest()
}

// Close ends the connection at once without waiting for the node: a
// Read or Write waiting on it fails; the stream's last resources go
// once the node's side notices (the receiving side ends).
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.cancel()
		if c.wmu.TryLock() { // a Write waiting on the node keeps it
			c.hmu.Lock()
			if !c.halfClosed {
				_ = c.stream.CloseRequest()
				c.halfClosed = true
			}
			c.hmu.Unlock()
			c.wmu.Unlock()
		}
		c.rdl.set(time.Time{})
		c.wdl.set(time.Time{})
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

// SetDeadline sets both deadlines (a zero t: none).
func (c *conn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline sets the read deadline; Reads past it fail until it
// moves.
func (c *conn) SetReadDeadline(t time.Time) error { c.rdl.set(t); return nil }

// SetWriteDeadline sets the write deadline.
func (c *conn) SetWriteDeadline(t time.Time) error { c.wdl.set(t); return nil }
