package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/agent/files"
	"github.com/soulbox/soulbox/internal/runtime"
)

// upload posts body to /files as octet-stream.
func (s *sandbox) upload(t *testing.T, path, user string, body io.Reader) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, agentURL+"/files?path="+url.QueryEscape(path), body)
	req.Header = s.header(user)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *sandbox) sh(t *testing.T, script string) string {
	t.Helper()
	r, err := s.run(context.Background(), t, "root", bash(script))
	if err != nil {
		t.Fatal(err)
	}
	return r.stdout
}

// zeros is n bytes of zeros, generated as read.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

func TestFilesInSandbox(t *testing.T) {
	s := newSandboxWith(t, runtime.Limits{DiskMB: 512})

	t.Run("RoundTripOwnedByUser", func(t *testing.T) {
		if code, body := s.upload(t, "notes/a.txt", "", strings.NewReader("hi there")); code != 200 || !strings.Contains(body, `"/home/user/notes/a.txt"`) {
			t.Fatalf("upload: %d %s", code, body)
		}
		if got := s.sh(t, "stat -c '%U:%G %a' /home/user/notes /home/user/notes/a.txt; cat /home/user/notes/a.txt"); got != "user:user 755\nuser:user 644\nhi there" {
			t.Errorf("on disk: %q", got)
		}
		resp, err := s.http.Get(agentURL + "/files?path=/home/user/notes/a.txt")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "hi there" {
			t.Errorf("download: %d %q", resp.StatusCode, b)
		}
	})
	t.Run("UploadBiggerThanDiskIs507AndLeavesNothing", func(t *testing.T) {
		before := s.sh(t, "df --output=used / | tail -1")
		code, body := s.upload(t, "/home/user/huge.bin", "", &zeros{n: 1 << 30})
		if code != http.StatusInsufficientStorage {
			t.Fatalf("1 GiB into a 512 MiB disk: %d %s, want 507", code, body)
		}
		if got := s.sh(t, "ls -A /home/user | grep -c -e huge -e soulbox-upload || true"); got != "0\n" {
			t.Errorf("half-written files left: %q", got)
		}
		after := s.sh(t, "df --output=used / | tail -1")
		t.Logf("disk used before %s after %s (KiB)", strings.TrimSpace(before), strings.TrimSpace(after))
		if code, _ := s.upload(t, "/home/user/small.txt", "", strings.NewReader("still works")); code != 200 {
			t.Errorf("upload after a full disk: %d", code)
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		for _, tc := range []struct {
			name, query string
			want        int
		}{
			{"missing file", "path=/home/user/none.txt", 404},
			{"directory", "path=/home/user", 400},
			{"no path", "", 400},
			{"unknown user", "path=/etc/hostname&username=ghost", 401},
		} {
			resp, err := s.http.Get(agentURL + "/files?" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
			}
		}
	})
	t.Run("SignedURLs", func(t *testing.T) {
		s.init(t, map[string]any{"accessToken": "files-token"})
		defer func() { s.token = "files-token" }() // later calls carry it
		get := func(q string) int {
			resp, err := s.http.Get(agentURL + "/files?" + q)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		p := "/home/user/notes/a.txt"
		exp := time.Now().Add(time.Minute).Unix()
		past := time.Now().Add(-time.Minute).Unix()
		// Signatures are base64 with + and /: escaped in the query, as
		// the SDKs' URL builders do.
		q := url.QueryEscape
		sig := q(files.Signature(p, "read", "", "files-token", nil))
		sigExp := q(files.Signature(p, "read", "", "files-token", &exp))
		sigPast := q(files.Signature(p, "read", "", "files-token", &past))
		forged := q(files.Signature(p, "read", "", "guess", nil))
		for _, tc := range []struct {
			name, q string
			want    int
		}{
			{"no signature", "path=" + p, 401},
			{"signed", "path=" + p + "&signature=" + sig, 200},
			{"signed with expiry", fmt.Sprintf("path=%s&signature=%s&signature_expiration=%d", p, sigExp, exp), 200},
			{"expired", fmt.Sprintf("path=%s&signature=%s&signature_expiration=%d", p, sigPast, past), 401},
			{"forged", "path=" + p + "&signature=" + forged, 401},
			{"other path", "path=/etc/hostname&signature=" + sig, 401},
			{"write signature used to read", "path=" + p + "&signature=" + q(files.Signature(p, "write", "", "files-token", nil)), 401},
		} {
			if got := get(tc.q); got != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
			}
		}
	})
}
