package server_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMalformedRequests sends what a careless or hostile client sends to a
// live server: bad JSON, wrong types, huge numbers, unknown fields, bad
// paths and methods, huge bodies, broken query strings, raw bytes. No
// answer may be a 5xx, and the server must keep serving.
func TestMalformedRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	c, _ := runServer(t, nil)
	var sb sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sb)
	id := sb.SandboxID

	send := func(method, path string, body []byte) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
		if err != nil {
			return 0, "" // not a request a client library can even send
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", c.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var sent, fives int
	check := func(method, path string, body []byte) {
		t.Helper()
		code, b := send(method, path, body)
		if code == 0 {
			return
		}
		sent++
		if code >= 500 {
			fives++
			if len(body) > 200 {
				body = body[:200]
			}
			t.Errorf("%s %s %q: %d %s", method, path, body, code, b)
		}
	}

	bodies := []string{
		``, `{`, `}`, `[]`, `null`, `"x"`, `0`, `{"templateID":"base"} {"x":1}`, "\x00\xff\xfe",
		`{"templateID":null}`, `{"templateID":["base"]}`, `{"templateID":{"a":1}}`, `{"templateID":"` + strings.Repeat("a", 100000) + `"}`,
		`{"templateID":"../../etc/passwd"}`, `{"templateID":"base\u0000"}`,
		`{"templateID":"base","timeout":18446744074}`, `{"templateID":"base","timeout":1e308}`, `{"templateID":"base","timeout":-9223372036854775808}`,
		`{"templateID":"base","timeout":"300"}`, `{"templateID":"base","timeout":true}`, `{"templateID":"base","cpuCount":1e10}`,
		`{"templateID":"base","memoryMB":9007199254740993}`, `{"templateID":"base","metadata":"x"}`, `{"templateID":"base","metadata":{"a":1}}`,
		`{"templateID":"base","metadata":{"":"x"}}`, `{"templateID":"base","envVars":{"A=B":"x"}}`, `{"templateID":"base","envVars":{"":"x"}}`,
		`{"templateID":"base","secure":"yes"}`, `{"templateID":"base","unknown":{"deep":[1,2,{"x":null}]}}`,
		`{"timeout":18446744074}`, `{"timeout":-1}`, `{"timeout":1.5}`, `{"timeout":[1]}`, `{"duration":1e30}`, `{"duration":"x"}`,
		strings.Repeat("[", 100000), `{"a":` + strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat("}", 10001),
	}
	paths := []string{
		"/sandboxes", "/v2/sandboxes", "/sandboxes/" + id, "/sandboxes/" + id + "/timeout", "/sandboxes/" + id + "/refreshes",
		"/sandboxes/" + id + "/connect", "/v2/sandboxes/" + id + "/connect", "/sandboxes/" + id + "/resume",
		"/sandboxes/" + id + "/metrics", "/sandboxes/" + id + "/logs", "/sandboxes/metrics",
		"/sandboxes/nosuch/timeout", "/sandboxes/nosuch/connect", "/sandboxes/nosuch/pause", "/sandboxes/%2e%2e/pause", "/sandboxes/%00/pause", "/sandboxes/" + strings.Repeat("x", 5000),
		"/sandboxes//pause", "/v2/sandboxes/x/y/z", "/sandboxes/" + id + "/pause/extra", "/openapi.json", "/health", "/metrics", "/nope",
	}
	for _, p := range paths {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"} {
			if strings.HasPrefix(p, "/sandboxes/"+id) && (m == "DELETE" || strings.HasSuffix(p, "/pause") && m == "POST") {
				continue // acts on the sandbox the rest of the test uses
			}
			check(m, p, nil)
		}
		for _, b := range bodies {
			if strings.HasPrefix(p, "/sandboxes/"+id) && strings.HasSuffix(p, "/pause") {
				continue
			}
			check("POST", p, []byte(b))
		}
	}
	queries := []string{
		"limit=0", "limit=-1", "limit=99999999999999999999", "limit=1e3", "limit=", "state=", "state=,", "state=running,,paused",
		"metadata=%", "metadata=%25zz", "metadata=a%3D", "metadata=" + strings.Repeat("a%3Db%26", 2000), "nextToken=%00", "nextToken=" + strings.Repeat("A", 10000),
		"order=%FF", "startedAfter=9999-99-99", "startedBefore=0001-01-01T00:00:00Z", "start=-1", "end=1e20", "start=5&end=1",
		"sandbox_ids=" + strings.Repeat(id+",", 200), "sandbox_ids=%zz", "a=1;b=2", "%", "&&&", "limit=1&limit=2&limit=x",
	}
	for _, p := range []string{"/sandboxes", "/v2/sandboxes", "/sandboxes/metrics", "/sandboxes/" + id + "/metrics", "/sandboxes/" + id + "/logs"} {
		for _, q := range queries {
			check("GET", p+"?"+q, nil)
		}
	}
	// A body larger than any the API reads.
	check("POST", "/sandboxes", append([]byte(`{"templateID":"base","metadata":{"k":"`), bytes.Repeat([]byte("x"), 8<<20)...))

	// Random bytes mutated from valid bodies, with a fixed seed so that a
	// failure repeats.
	rng := rand.New(rand.NewPCG(15, 15))
	valid := []string{`{"templateID":"base","timeout":30,"metadata":{"a":"b"},"cpuCount":1,"memoryMB":256}`, `{"timeout":30}`, `{"duration":30}`}
	for range 300 {
		b := []byte(valid[rng.IntN(len(valid))])
		for range 1 + rng.IntN(4) {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		p := []string{"/sandboxes/" + id + "/timeout", "/sandboxes/" + id + "/refreshes", "/sandboxes/" + id + "/connect", "/sandboxes/nosuch/connect"}[rng.IntN(4)]
		check("POST", p, b)
	}
	// Creates that are refused must leave nothing; kill what was made.
	var list []listedJSON
	c.want(200, "GET", "/v2/sandboxes", nil, &list)
	for _, s := range list {
		if s.SandboxID != id {
			c.do("DELETE", "/sandboxes/"+s.SandboxID, nil)
		}
	}

	// Raw bytes on the socket: request lines no client library writes.
	addr := strings.TrimPrefix(c.base, "http://")
	for _, raw := range []string{
		"GET /sandboxes/%zz HTTP/1.1\r\nHost: x\r\nX-API-Key: " + c.key + "\r\n\r\n",
		"POST /sandboxes HTTP/1.1\r\nHost: x\r\nX-API-Key: " + c.key + "\r\nContent-Length: 100\r\n\r\n{\"templateID\"",
		"POST /sandboxes HTTP/1.1\r\nHost: x\r\nX-API-Key: " + c.key + "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"GET /v2/sandboxes?limit=%G1 HTTP/1.1\r\nHost: x\r\nX-API-Key: " + c.key + "\r\n\r\n",
		"BREW /sandboxes HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /sandboxes HTTP/1.1\r\nHost: x\r\nX-API-Key: \x01\x02\r\n\r\n",
	} {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
		_, _ = conn.Write([]byte(raw))
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		b, _ := io.ReadAll(conn)
		conn.Close()
		var code int
		if _, err := fmt.Sscanf(string(b), "HTTP/1.1 %d", &code); err == nil && code >= 500 {
			t.Errorf("raw %q: %s", raw, b)
		}
		sent++
	}

	// Still serving, and the sandbox the requests aimed at is unharmed.
	c.want(200, "GET", "/sandboxes/"+id, nil, nil)
	t.Logf("%d malformed requests, %d answered 5xx", sent, fives)
}
