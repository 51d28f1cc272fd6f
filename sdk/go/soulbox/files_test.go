package soulbox_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

func TestFiles(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, newClient(t), soulbox.CreateOptions{})
	f := sb.Files

	t.Run("WriteReadStream", func(t *testing.T) {
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
		info, err := f.Write(ctx, "data/big.bin", bytes.NewReader(big), nil)
		if err != nil {
			t.Fatal(err)
		}
		if info.Path != "/home/user/data/big.bin" || info.Type != soulbox.TypeFile {
			t.Errorf("Write = %+v", info)
		}
		r, err := f.Read(ctx, "/home/user/data/big.bin", nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(got, big) {
			t.Errorf("read %d bytes back, wrote %d", len(got), len(big))
		}
		st, err := f.Stat(ctx, "data/big.bin", nil)
		if err != nil || st.Size != int64(len(big)) || st.Owner != "user" {
			t.Errorf("Stat = %+v, %v", st, err)
		}
	})

	t.Run("BatchListRenameRemove", func(t *testing.T) {
		infos, err := f.WriteFiles(ctx, []soulbox.WriteEntry{
			{Path: "/tmp/batch/a.txt", Data: strings.NewReader("A")},
			{Path: "/tmp/batch/sub/b.txt", Data: strings.NewReader("B")},
		}, nil)
		if err != nil || len(infos) != 2 {
			t.Fatalf("WriteFiles = %+v, %v", infos, err)
		}
		entries, err := f.List(ctx, "/tmp/batch", 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name+":"+string(e.Type))
		}
		if strings.Join(names, ",") != "a.txt:file,sub:dir,b.txt:file" {
			t.Errorf("List depth 2 = %v", names)
		}
		if _, err := f.Rename(ctx, "/tmp/batch/a.txt", "/tmp/batch/c.txt", nil); err != nil {
			t.Fatal(err)
		}
		if b, err := f.ReadFile(ctx, "/tmp/batch/c.txt", nil); err != nil || string(b) != "A" {
			t.Errorf("renamed file = %q, %v", b, err)
		}
		if err := f.Remove(ctx, "/tmp/batch", nil); err != nil {
			t.Fatal(err)
		}
		if ok, err := f.Exists(ctx, "/tmp/batch", nil); ok || err != nil {
			t.Errorf("Exists after Remove = %v, %v", ok, err)
		}
		if _, err := f.ReadFile(ctx, "/tmp/batch/c.txt", nil); !errors.Is(err, soulbox.ErrNotFound) {
			t.Errorf("ReadFile of a removed file = %v, want ErrNotFound", err)
		}
		if _, err := f.WriteFiles(ctx, []soulbox.WriteEntry{{Path: "/tmp/a"}}, nil); !errors.Is(err, soulbox.ErrInvalidArgument) {
			t.Errorf("WriteFiles with no Data = %v", err)
		}
		if _, err := f.Write(ctx, "", strings.NewReader("x"), nil); !errors.Is(err, soulbox.ErrInvalidArgument) {
			t.Errorf("Write with no path = %v", err)
		}
	})

	t.Run("MakeDirAndUsers", func(t *testing.T) {
		if made, err := f.MakeDir(ctx, "/tmp/made/deep", nil); !made || err != nil {
			t.Errorf("MakeDir = %v, %v", made, err)
		}
		if made, err := f.MakeDir(ctx, "/tmp/made/deep", nil); made || err != nil {
			t.Errorf("MakeDir of an existing dir = %v, %v; want false, nil", made, err)
		}
		if _, err := f.WriteFile(ctx, "/tmp/by-root", []byte("x"), &soulbox.FileOptions{User: "root"}); err != nil {
			t.Fatal(err)
		}
		if st, err := f.Stat(ctx, "/tmp/by-root", nil); err != nil || st.Owner != "root" {
			t.Errorf("a file written as root: %+v, %v", st, err)
		}
		if _, err := f.WriteFile(ctx, "/tmp/x", []byte("x"), &soulbox.FileOptions{User: "nobody-here"}); !errors.Is(err, soulbox.ErrInvalidArgument) && !errors.Is(err, soulbox.ErrNotFound) && !errors.Is(err, soulbox.ErrAuth) {
			t.Errorf("writing as an unknown user = %v", err)
		}
	})

	t.Run("Watch", func(t *testing.T) {
		f.MakeDir(ctx, "/tmp/watched", nil)
		wctx, cancel := context.WithCancel(ctx)
		w, err := f.Watch(wctx, "/tmp/watched", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteFile(ctx, "/tmp/watched/new.txt", []byte("hi"), nil); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-w.Events:
			if ev.Name != "new.txt" || (ev.Type != soulbox.EventCreate && ev.Type != soulbox.EventWrite) {
				t.Errorf("first event %+v", ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no event for a new file")
		}
		cancel()
		for range w.Events { // closed when the context ends
		}
		if w.Err() != nil {
			t.Errorf("Err after cancel = %v", w.Err())
		}
		if _, err := f.Watch(ctx, "/no/such/dir", nil); !errors.Is(err, soulbox.ErrNotFound) {
			t.Errorf("Watch of no dir = %v, want ErrNotFound", err)
		}
	})

	t.Run("SignedURLs", func(t *testing.T) {
		up, err := f.UploadURL("/tmp/signed.txt", &soulbox.SignedURLOptions{Expires: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(up, "application/octet-stream", strings.NewReader("via url"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST to the upload URL: %d", resp.StatusCode)
		}
		down, _ := f.DownloadURL("/tmp/signed.txt", nil)
		resp, err = http.Get(down)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "via url" {
			t.Errorf("GET the download URL: %d %q", resp.StatusCode, b)
		}
		// The URL is signed for this path only.
		resp, _ = http.Get(strings.Replace(down, "signed.txt", "other.txt", 1))
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET another path with the signature: %d", resp.StatusCode)
		}
	})
}
