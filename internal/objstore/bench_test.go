package objstore_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
)

// BenchmarkDirTransfer: archiving and uploading a 64 MiB directory (a
// checkpoint's size for a process holding about that much memory), and
// downloading, verifying and unpacking it, against versitygw on loopback.
func BenchmarkDirTransfer(b *testing.B) {
	srv := s3test.Start(b, bucket)
	st, err := objstore.Open(context.Background(), srv.Config(bucket))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	src := b.TempDir()
	data := make([]byte, 16<<20)
	for i := range 4 {
		rand.Read(data)
		if err := os.WriteFile(filepath.Join(src, "pages-"+string(rune('a'+i))+".img"), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	tmp := b.TempDir()
	var ref objstore.Ref
	b.Run("upload", func(b *testing.B) {
		b.SetBytes(64 << 20)
		for i := 0; i < b.N; i++ {
			// New content each time: the same would not be sent again.
			if err := os.WriteFile(filepath.Join(src, "n"), []byte{byte(i), byte(i >> 8)}, 0o600); err != nil {
				b.Fatal(err)
			}
			var sent bool
			if ref, sent, err = st.UploadDir(ctx, src, tmp); err != nil || !sent {
				b.Fatalf("upload: sent %v, %v", sent, err)
			}
		}
	})
	b.Run("download", func(b *testing.B) {
		b.SetBytes(64 << 20)
		for i := 0; i < b.N; i++ {
			into := filepath.Join(tmp, "into")
			os.RemoveAll(into)
			if err := os.Mkdir(into, 0o700); err != nil {
				b.Fatal(err)
			}
			if err := st.DownloadDir(ctx, ref, into, tmp); err != nil {
				b.Fatal(err)
			}
		}
	})
}
