package soulbox_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/server/servertest"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

func newClient(t *testing.T) *soulbox.Client {
	t.Helper()
	c, err := soulbox.New(soulbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newSandbox creates a sandbox killed when the test ends.
func newSandbox(t *testing.T, c *soulbox.Client, o soulbox.CreateOptions) *soulbox.Sandbox {
	t.Helper()
	sb, err := c.Create(context.Background(), "", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Kill(context.Background()) })
	return sb
}

func TestNewFromEnvironment(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		o       soulbox.Options
		wantAPI string
		wantErr error
	}{
		{"SoulBoxFirst", soulbox.Options{Getenv: env(map[string]string{"SOULBOX_API_URL": "http://a:1", "E2B_API_URL": "http://b:2", "E2B_API_KEY": "k"})}, "http://a:1", nil},
		{"E2BVariables", soulbox.Options{Getenv: env(map[string]string{"E2B_API_URL": "http://b:2/", "E2B_API_KEY": "k"})}, "http://b:2", nil},
		{"E2BDomain", soulbox.Options{Getenv: env(map[string]string{"E2B_DOMAIN": "e2b.app", "E2B_API_KEY": "k"})}, "https://api.e2b.app", nil},
		{"OptionsWin", soulbox.Options{APIURL: "http://c:3", APIKey: "k", Getenv: env(map[string]string{"SOULBOX_API_URL": "http://a:1"})}, "http://c:3", nil},
		{"Default", soulbox.Options{Getenv: env(map[string]string{"SOULBOX_API_KEY": "k"})}, soulbox.DefaultAPIURL, nil},
		{"NoKey", soulbox.Options{Getenv: env(nil)}, "", soulbox.ErrAuth},
		{"BadURL", soulbox.Options{APIURL: "127.0.0.1:3000", APIKey: "k"}, "", soulbox.ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := soulbox.New(tc.o)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("New = %v, want %v", err, tc.wantErr)
			}
			if err == nil && c.APIURL() != tc.wantAPI {
				t.Errorf("APIURL = %q, want %q", c.APIURL(), tc.wantAPI)
			}
		})
	}
}

func TestSandboxLifecycle(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	sb := newSandbox(t, c, soulbox.CreateOptions{Timeout: time.Minute, Metadata: map[string]string{"test": t.Name()}})

	info, err := sb.GetInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.SandboxID != sb.ID || info.State != "running" || info.Metadata["test"] != t.Name() {
		t.Errorf("GetInfo = %+v", info)
	}
	before := info.EndAt
	if err := sb.SetTimeout(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if info, _ = sb.GetInfo(ctx); !info.EndAt.After(before.Add(5 * time.Minute)) {
		t.Errorf("SetTimeout(10m): endAt %v, was %v", info.EndAt, before)
	}

	if err := sb.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if info, _ = sb.GetInfo(ctx); info.State != "paused" {
		t.Errorf("after Pause, state %q", info.State)
	}
	if err := sb.Pause(ctx); !errors.Is(err, soulbox.ErrConflict) {
		t.Errorf("second Pause = %v, want ErrConflict", err)
	}
	if err := sb.Resume(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if r, err := sb.Commands.Run(ctx, "echo back", nil); err != nil || r.Stdout != "back\n" {
		t.Errorf("Run after Resume = %+v, %v", r, err)
	}
	if _, err := sb.Metrics(ctx); err != nil {
		t.Errorf("Metrics: %v", err)
	}

	// Connect to it by ID, as another program would.
	again, err := c.Connect(ctx, sb.ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := again.Commands.Run(ctx, "echo connected", nil); err != nil || r.Stdout != "connected\n" {
		t.Errorf("Run on Connect's handle = %+v, %v", r, err)
	}

	if err := sb.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetInfo(ctx, sb.ID)
	var se *soulbox.Error
	if !errors.Is(err, soulbox.ErrNotFound) || !errors.As(err, &se) || se.Status != http.StatusNotFound || se.Message == "" {
		t.Errorf("GetInfo of a killed sandbox = %#v, want ErrNotFound with its message", err)
	}
	if err := c.Kill(ctx, sb.ID); !errors.Is(err, soulbox.ErrNotFound) {
		t.Errorf("Kill twice = %v, want ErrNotFound", err)
	}
}

func TestListPages(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	md := map[string]string{"test": t.Name()}
	var want []string
	for range 3 {
		want = append(want, newSandbox(t, c, soulbox.CreateOptions{Metadata: md}).ID)
	}
	newSandbox(t, c, soulbox.CreateOptions{Metadata: map[string]string{"test": "other"}})

	var got []string
	for info, err := range c.List(ctx, &soulbox.ListOptions{Metadata: md, PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, info.SandboxID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("List over pages of 1 = %v, want %v", got, want)
	}

	// Breaking out of the loop stops fetching; a new range starts over.
	n := 0
	for _, err := range c.List(ctx, &soulbox.ListOptions{Metadata: md, PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		break
	}
	if n != 1 {
		t.Errorf("break after the first: %d iterations", n)
	}

	for _, err := range c.List(ctx, &soulbox.ListOptions{States: []string{"sleeping"}}) {
		if !errors.Is(err, soulbox.ErrInvalidArgument) {
			t.Errorf("List with a bad state = %v, want ErrInvalidArgument", err)
		}
	}
}

func TestErrorCategories(t *testing.T) {
	ctx := context.Background()
	bad, err := soulbox.New(soulbox.Options{APIKey: "e2b_00000000000000000000000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Create(ctx, "", soulbox.CreateOptions{}); !errors.Is(err, soulbox.ErrAuth) {
		t.Errorf("Create with a wrong key = %v, want ErrAuth", err)
	}
	c := newClient(t)
	if _, err := c.Create(ctx, "no-such-template", soulbox.CreateOptions{}); !errors.Is(err, soulbox.ErrNotFound) && !errors.Is(err, soulbox.ErrInvalidArgument) {
		t.Errorf("Create of an unknown template = %v, want ErrNotFound or ErrInvalidArgument", err)
	}
	if _, err := c.Create(ctx, "", soulbox.CreateOptions{Timeout: 1000 * time.Hour}); !errors.Is(err, soulbox.ErrInvalidArgument) {
		t.Errorf("Create with a timeout of 1000h = %v, want ErrInvalidArgument", err)
	}
	dctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-dctx.Done()
	if _, err := c.GetInfo(dctx, "x"); !errors.Is(err, soulbox.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetInfo past its deadline = %v, want ErrTimeout and DeadlineExceeded", err)
	}
	down, _ := soulbox.New(soulbox.Options{APIURL: "http://127.0.0.1:1", APIKey: "k"})
	if _, err := down.GetInfo(ctx, "x"); !errors.Is(err, soulbox.ErrUnavailable) {
		t.Errorf("GetInfo from no server = %v, want ErrUnavailable", err)
	}
}

func TestRateLimited(t *testing.T) {
	s := servertest.Start(t, func(c *server.Config) { c.MaxSandboxes = 1 })
	c, err := soulbox.New(soulbox.Options{APIURL: s.URL, APIKey: s.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	newSandbox(t, c, soulbox.CreateOptions{})
	_, err = c.Create(context.Background(), "", soulbox.CreateOptions{})
	var se *soulbox.Error
	if !errors.Is(err, soulbox.ErrRateLimited) || !errors.As(err, &se) || se.Status != http.StatusTooManyRequests {
		t.Errorf("Create over the quota = %v, want ErrRateLimited (429)", err)
	}
}

// TestSandboxHosts reaches sandboxes the way E2B's cloud is reached: no
// shared sandbox URL and no routing headers, each request to the
// sandbox's own host <port>-<id>.<domain>, which SoulBox's proxy routes
// too. The HTTP client resolves every name to the server, as DNS would.
func TestSandboxHosts(t *testing.T) {
	ctx := context.Background()
	u, _ := url.Parse(srv.URL)
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, u.Host)
	}
	c, err := soulbox.New(soulbox.Options{APIURL: srv.URL, APIKey: srv.APIKey, Domain: srv.Domain,
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dial}}, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	sb := newSandbox(t, c, soulbox.CreateOptions{})
	if want := "http://8080-" + sb.ID + "." + srv.Domain + ":" + u.Port(); sb.URL(8080) != want {
		t.Errorf("URL(8080) = %q, want %q", sb.URL(8080), want)
	}
	if r, err := sb.Commands.Run(ctx, "echo via host", nil); err != nil || r.Stdout != "via host\n" {
		t.Fatalf("Run through the sandbox host = %+v, %v", r, err)
	}
	if _, err := sb.Files.WriteFile(ctx, "/tmp/h.txt", []byte("h"), nil); err != nil {
		t.Fatal(err)
	}
	if b, err := sb.Files.ReadFile(ctx, "/tmp/h.txt", nil); err != nil || string(b) != "h" {
		t.Errorf("ReadFile through the sandbox host = %q, %v", b, err)
	}
	if ex, err := sb.RunCode(ctx, "2 ** 10", nil); err != nil || ex.Text() != "1024" {
		t.Errorf("RunCode through the sandbox host = %+v, %v", ex, err)
	}
}
