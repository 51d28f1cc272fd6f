package files

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/agent/users"
)

// Fuzz targets for everything /files decodes from a request: the path
// and its resolution, the query that signs a URL, and upload bodies.
// Seeds are in testdata/fuzz; scripts/fuzz.sh runs every target.

// FuzzResolve checks path resolution: it refuses only what it says it
// refuses, and what it resolves is absolute and clean, under the home
// for a relative path that does not climb out with "..".
func FuzzResolve(f *testing.F) {
	for _, seed := range [][2]string{
		{"/home/user", "f.txt"}, {"/home/user", "~"}, {"/home/user", "~/a/../b"}, {"/home/user", "~root/x"},
		{"/home/user", "/etc/passwd"}, {"/home/user", "../../etc/shadow"}, {"", "x"}, {"rel", "a"},
		{"/home/user", "a\x00b"}, {"/home/user", ""}, {"/", "//a//b/"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, home, p string) {
		if strings.IndexByte(home, 0) >= 0 {
			return // a home comes from passwd, which has no NUL bytes
		}
		got, herr := resolve(users.User{Name: "u", Home: home}, p)
		refused := p == "" || strings.IndexByte(p, 0) >= 0 ||
			(strings.HasPrefix(p, "~") && p != "~" && !strings.HasPrefix(p, "~/"))
		if herr != nil {
			if !refused || herr.status != http.StatusBadRequest {
				t.Fatalf("resolve(%q) refused with %d %q", p, herr.status, herr.msg)
			}
			return
		}
		if refused {
			t.Fatalf("resolve(%q) = %q, want it refused", p, got)
		}
		if !filepath.IsAbs(got) || filepath.Clean(got) != got || strings.IndexByte(got, 0) >= 0 {
			t.Fatalf("resolve(%q) = %q: not absolute and clean", p, got)
		}
		if filepath.IsAbs(p) && got != filepath.Clean(p) {
			t.Fatalf("resolve(%q) = %q, want the path itself", p, got)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, "~"), "/")
		if !filepath.IsAbs(p) && filepath.IsAbs(home) && !climbs(rel) {
			h := filepath.Clean(home)
			if got != h && !strings.HasPrefix(got, strings.TrimSuffix(h, "/")+"/") {
				t.Fatalf("resolve(%q) with home %q = %q: outside the home", p, home, got)
			}
		}
	})
}

// climbs reports whether a relative path has a ".." element.
func climbs(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return true
		}
	}
	return false
}

const fuzzToken = "fuzz-token"

// FuzzAuthorize checks the access check of /files against any query and
// X-Access-Token: it lets a request through exactly when the header is
// the token, or, without a header, when the query's signature equals the
// one computed here for its path, user and expiry and has not expired;
// and it answers 401 or, for an expiry that is not a number, 400.
func FuzzAuthorize(f *testing.F) {
	future := strconv.FormatInt(time.Now().Add(24*365*time.Hour).Unix(), 10)
	exp, _ := strconv.ParseInt(future, 10, 64)
	signed := func(path, op, user string, withUser bool, expires *int64) string {
		v := url.Values{"path": {path}, "signature": {Signature(path, op, user, fuzzToken, expires)}}
		if withUser {
			v.Set("username", user)
		}
		if expires != nil {
			v.Set("signature_expiration", strconv.FormatInt(*expires, 10))
		}
		return v.Encode()
	}
	f.Add(signed("f.txt", opRead, "", false, nil), "", false)
	f.Add(signed("/home/user/a b", opWrite, "root", true, &exp), "", true)
	f.Add(signed("x", opRead, "undefined", false, nil), "", false)
	f.Add("path=f.txt&signature=v1_AAAA&signature_expiration=1", "", false)
	f.Add("path=f.txt&signature=&signature_expiration=soon", "", false)
	f.Add("path=%zz&signature=x;y", "", false)
	f.Add("path=f.txt", fuzzToken, true)
	f.Add("path=f.txt", "wrong", false)
	f.Fuzz(func(t *testing.T, rawQuery, header string, write bool) {
		st := state.New(nil, users.System)
		tok := fuzzToken
		st.Apply(state.Init{AccessToken: &tok})
		h := New(st, nil)
		op := opRead
		if write {
			op = opWrite
		}
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/files", RawQuery: rawQuery}, Header: http.Header{}}
		if header != "" {
			r.Header.Set("X-Access-Token", header)
			header = r.Header.Get("X-Access-Token")
		}
		herr := h.authorize(r, op)

		want, status := expectAuthorized(rawQuery, header, op)
		switch {
		case want && herr != nil:
			t.Fatalf("refused %q (header %q, %s): %d %s", rawQuery, header, op, herr.status, herr.msg)
		case !want && herr == nil:
			t.Fatalf("let through %q (header %q, %s)", rawQuery, header, op)
		case herr != nil && herr.status != status:
			t.Fatalf("%q: status %d %q, want %d", rawQuery, herr.status, herr.msg, status)
		}
	})
}

// expectAuthorized is the rule of envd's /files access check, written
// apart from the code it checks: whether the request passes, else the
// status it gets.
func expectAuthorized(rawQuery, header, op string) (bool, int) {
	if header != "" {
		return header == fuzzToken, http.StatusUnauthorized
	}
	q, _ := url.ParseQuery(rawQuery)
	sigs, ok := q["signature"]
	if !ok {
		return false, http.StatusUnauthorized
	}
	var expires *int64
	if v := q.Get("signature_expiration"); v != "" {
		exp, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false, http.StatusBadRequest
		}
		expires = &exp
	}
	user := ""
	if us, ok := q["username"]; ok {
		user = us[0]
	}
	valid := sigs[0] == Signature(q.Get("path"), op, user, fuzzToken, expires)
	if _, ok := q["username"]; !ok {
		valid = valid || sigs[0] == Signature(q.Get("path"), op, "undefined", fuzzToken, expires)
	}
	if !valid {
		return false, http.StatusUnauthorized
	}
	if expires != nil && *expires < time.Now().Unix() {
		return false, http.StatusUnauthorized
	}
	return true, 0
}

// FuzzSignedURL checks that a URL signed for a path, user and expiry opens
// exactly that operation until it expires, and that changing any byte of
// its signature closes it.
func FuzzSignedURL(f *testing.F) {
	f.Add("f.txt", "", false, int64(0), false, uint8(0))
	f.Add("/home/user/ü ñ.csv", "user", true, int64(3600), true, uint8(7))
	f.Add("~/x", "root", true, int64(-3600), false, uint8(40))
	f.Add("a&b=c?d#e", "a:b", false, int64(1<<40), true, uint8(255))
	f.Fuzz(func(t *testing.T, path, user string, withUser bool, offset int64, write bool, flip uint8) {
		if !withUser && user != "" {
			user = "" // a URL without username is signed for ""
		}
		op := opRead
		if write {
			op = opWrite
		}
		now := time.Now().Unix()
		var expires *int64
		if offset != 0 {
			if offset > -5 && offset < 5 {
				offset = 3600 // not at the second the check reads the clock
			}
			e := now + offset
			if (offset > 0) != (e > now) {
				return // overflowed
			}
			expires = &e
		}
		sig := Signature(path, op, user, fuzzToken, expires)
		if !strings.HasPrefix(sig, "v1_") || len(sig) != 3+43 {
			t.Fatalf("signature %q is not v1_ and 43 base64 digits", sig)
		}
		query := func(sig string) string {
			v := url.Values{"path": {path}, "signature": {sig}}
			if withUser {
				v.Set("username", user)
			}
			if expires != nil {
				v.Set("signature_expiration", strconv.FormatInt(*expires, 10))
			}
			return v.Encode()
		}
		st := state.New(nil, users.System)
		tok := fuzzToken
		st.Apply(state.Init{AccessToken: &tok})
		h := New(st, nil)
		try := func(q, op string) *httpError {
			return h.authorize(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/files", RawQuery: q}, Header: http.Header{}}, op)
		}
		expired := expires != nil && *expires < now
		herr := try(query(sig), op)
		switch {
		case expired && (herr == nil || herr.msg != msgExpiredSignature):
			t.Fatalf("expired signature: %v", herr)
		case !expired && herr != nil:
			t.Fatalf("valid signature refused: %d %s", herr.status, herr.msg)
		}
		other := opWrite
		if write {
			other = opRead
		}
		if herr := try(query(sig), other); herr == nil || herr.msg != msgInvalidSignature {
			t.Fatalf("a %s signature opened a %s: %v", op, other, herr)
		}
		b := []byte(sig)
		i := 3 + int(flip)%(len(b)-3)
		b[i] ^= 1 + flip%63
		if herr := try(query(string(b)), op); herr == nil || herr.msg != msgInvalidSignature {
			t.Fatalf("tampered signature %q: %v", b, herr)
		}
	})
}

// FuzzEachFile checks the decoding of upload bodies, multipart and
// octet-stream, without writing: a body is refused only with 400, every
// destination it names resolves to an absolute, clean path, and a path
// query parameter names one file at most.
func FuzzEachFile(f *testing.F) {
	var form bytes.Buffer
	form.WriteString("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"dir/a.txt\"\r\n\r\nhello\r\n" +
		"--B\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nskip\r\n" +
		"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/tmp/b\"\r\n\r\nworld\r\n--B--\r\n")
	f.Add("multipart/form-data; boundary=B", "", form.Bytes())
	f.Add("multipart/form-data; boundary=B", "one.txt", form.Bytes())
	f.Add("multipart/form-data; boundary=B", "", []byte("--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--B--\r\n"))
	f.Add("multipart/form-data; boundary=B", "", []byte("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\ncut"))
	f.Add("multipart/form-data", "", []byte("x"))
	f.Add("application/octet-stream", "~/x", []byte("data"))
	f.Add("application/octet-stream", "", []byte("data"))
	f.Add("text/plain", "x", []byte("data"))
	f.Add("", "x", []byte(""))
	f.Add("multipart/form-data; boundary=\"\x00\"", "", []byte("--\x00\r\n"))
	u := users.User{Name: "u", Home: "/home/u"}
	f.Fuzz(func(t *testing.T, ct, path string, body []byte) {
		mediaType, params, herr := contentType(ct)
		if herr != nil {
			if herr.status != http.StatusBadRequest {
				t.Fatalf("Content-Type %q: %d", ct, herr.status)
			}
			return
		}
		var files int
		herr = eachFile(mediaType, params, path, bytes.NewReader(body), func(name string, r io.Reader) *httpError {
			files++
			if path != "" && (name != path || files > 1) {
				t.Fatalf("path %q given, but file %d is written to %q", path, files, name)
			}
			dst, herr := resolve(u, name)
			if herr != nil {
				return herr
			}
			if !filepath.IsAbs(dst) || filepath.Clean(dst) != dst {
				t.Fatalf("destination %q of %q is not absolute and clean", dst, name)
			}
			_, err := io.Copy(io.Discard, r)
			if err != nil {
				return errorf(http.StatusBadRequest, err, "body")
			}
			return nil
		})
		if herr != nil && herr.status != http.StatusBadRequest {
			t.Fatalf("upload %q refused with %d %q, want 400", ct, herr.status, herr.msg)
		}
	})
}

// FuzzUpload sends any body, Content-Type and Content-Encoding to POST
// /files for one destination under a temporary home, and checks what a
// client relies on: no answer but 200 or 400; a refused upload changes
// nothing; no temporary file is ever left; an octet-stream upload writes
// exactly its body.
func FuzzUpload(f *testing.F) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("compressed"))
	zw.Close()
	f.Add("application/octet-stream", "", []byte("plain"))
	f.Add("application/octet-stream", "gzip", gz.Bytes())
	f.Add("application/octet-stream", "gzip", gz.Bytes()[:10])
	f.Add("multipart/form-data; boundary=B", "", []byte("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nx\r\n--B--\r\n"))
	f.Add("multipart/form-data; boundary=B", "", []byte("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nx\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b\"\r\n\r\ny\r\n--B--\r\n"))
	f.Add("multipart/form-data; boundary=B", "", []byte("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\ntruncated"))
	f.Add("text/plain", "br", []byte("x"))
	root, home, st := newHome(f)
	h := New(st, nil)
	const dest = "fuzz/dir/out.bin"
	f.Fuzz(func(t *testing.T, ct, encoding string, body []byte) {
		before := tree(t, root)
		r := httptest.NewRequest(http.MethodPost, "/files?"+url.Values{"path": {dest}}.Encode(), bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		r.Header.Set("Content-Encoding", encoding)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		defer os.RemoveAll(filepath.Join(home, "fuzz"))

		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), TempPrefix) {
				t.Fatalf("temporary file %s left behind (status %d)", p, w.Code)
			}
			return nil
		})
		switch w.Code {
		case http.StatusOK:
			mediaType, _, _ := contentType(ct)
			if mediaType == "application/octet-stream" && strings.TrimSpace(encoding) == "" {
				got, err := os.ReadFile(filepath.Join(home, dest))
				if err != nil || !bytes.Equal(got, body) {
					t.Fatalf("wrote %q (%v), want the body %q", got, err, body)
				}
			}
		case http.StatusBadRequest:
			if after := tree(t, root); after != before {
				t.Fatalf("a refused upload (%s) changed the files:\n%s\n%s", w.Body, before, after)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

// FuzzMetadata checks the decoding of X-Metadata-<key> headers, which
// become extended attributes: refused only with 400; accepted keys are
// non-empty, lowercase, printable and short enough for an xattr name,
// values printable, and the whole set fits the block a file keeps them in.
func FuzzMetadata(f *testing.F) {
	f.Add("X-Metadata-Owner", "alice", "X-Metadata-Tag", "a b")
	f.Add("x-metadata-", "v", "Other", "x")
	f.Add("X-Metadata-K", "\x00", "X-Metadata-k", "dup")
	f.Add("X-METADATA-"+strings.Repeat("k", 300), "v", "", "")
	f.Add("X-Metadata-Big", strings.Repeat("v", 5000), "X-Metadata-\xff", "é")
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		h := http.Header{}
		if n1 != "" {
			h[n1] = []string{v1}
		}
		if n2 != "" {
			h[n2] = append(h[n2], v2)
		}
		md, herr := metadataOf(h)
		if herr != nil {
			if herr.status != http.StatusBadRequest {
				t.Fatalf("headers %q refused with %d", h, herr.status)
			}
			return
		}
		total := 0
		for k, v := range md {
			if k == "" || strings.ToLower(k) != k || len(k) > maxKeyLen || !printable(k) || !printable(v) {
				t.Fatalf("headers %q accepted as metadata %q=%q", h, k, v)
			}
			total += len(xattrPrefix) + len(k) + len(v)
		}
		if total > maxMetadataLen {
			t.Fatalf("headers %q accepted as %d bytes of metadata", h, total)
		}
	})
}

// FuzzAcceptsGzip checks the reading of Accept-Encoding: never gzip for a
// header that does not name it, gzip for one that names it alone.
func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "br, gzip;q=0.5", "gzip;q=0", "x-gzip", "identity", "*", "gzip;q=abc", "GZIP ; Q=0.0", ";;,,=", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := acceptsGzip(header)
		if got && !strings.Contains(strings.ToLower(header), "gzip") {
			t.Fatalf("Accept-Encoding %q taken as gzip", header)
		}
		if !acceptsGzip(header+", gzip") && !strings.Contains(strings.ToLower(header), "gzip") {
			t.Fatalf("Accept-Encoding %q, gzip not taken as gzip", header)
		}
	})
}
