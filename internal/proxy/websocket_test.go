package proxy

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func websocketAccept(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// readFrame reads one small (< 126 bytes) websocket frame, unmasking it.
func readFrame(r io.Reader) (opcode byte, payload []byte, err error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	n := int(head[1] & 0x7f)
	if n >= 126 {
		return 0, nil, fmt.Errorf("frame of %d: only small frames here", n)
	}
	var mask [4]byte
	if head[1]&0x80 != 0 {
		if _, err := io.ReadFull(r, mask[:]); err != nil {
			return 0, nil, err
		}
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	return head[0] & 0x0f, payload, nil
}

// frame is a final text frame; masked as clients must send them.
func frame(payload string, mask []byte) []byte {
	b := []byte{0x81, byte(len(payload))}
	if mask == nil {
		return append(b, payload...)
	}
	b[1] |= 0x80
	b = append(b, mask...)
	for i := range len(payload) {
		b = append(b, payload[i]^mask[i%4])
	}
	return b
}

// echoWebsocket answers a websocket handshake and echoes text frames
// until the client closes.
func echoWebsocket(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || r.Header.Get("Sec-WebSocket-Version") != "13" {
			http.Error(w, "want a websocket handshake", http.StatusBadRequest)
			return
		}
		if r.Header.Get("E2b-Sandbox-Id") != "" {
			http.Error(w, "routing header reached the sandbox", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			websocketAccept(r.Header.Get("Sec-WebSocket-Key")))
		brw.Flush()
		for {
			op, payload, err := readFrame(brw)
			if err != nil || op != 0x1 {
				return
			}
			conn.Write(frame("echo: "+string(payload), nil))
		}
	}
}

// TestWebsocket upgrades through the proxy with a raw handshake and
// exchanges frames both ways, twice, over the one connection.
func TestWebsocket(t *testing.T) {
	h := setup(t)
	h.dialer.serve(t, "abc", 8888, echoWebsocket(t))
	for _, tc := range []struct{ name, route string }{
		{"by headers", "Host: localhost\r\nE2b-Sandbox-Id: abc\r\nE2b-Sandbox-Port: 8888\r\n"},
		{"by host", "Host: 8888-abc.sandbox.test:3000\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", h.front.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(failAfter))
			const key = "dGhlIHNhbXBsZSBub25jZQ=="
			fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\n%sUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", tc.route, key)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusSwitchingProtocols {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			if got := resp.Header.Get("Sec-WebSocket-Accept"); got != websocketAccept(key) {
				t.Errorf("Sec-WebSocket-Accept %q", got)
			}
			if c := resp.Header.Get("Connection"); !strings.EqualFold(c, "upgrade") {
				t.Errorf("Connection %q", c)
			}
			for _, msg := range []string{"hello", "again"} {
				if _, err := conn.Write(frame(msg, []byte{1, 2, 3, 4})); err != nil {
					t.Fatal(err)
				}
				op, payload, err := readFrame(br)
				if err != nil || op != 0x1 || string(payload) != "echo: "+msg {
					t.Fatalf("frame %d %q, %v", op, payload, err)
				}
			}
		})
	}
}
