package files

import (
	"bufio"
	"compress/gzip"
	"io"
	"sync"
)

// ioSize is how much a transfer moves per system call. The standard
// library's defaults are made for small messages: the HTTP server reads a
// body 4 KiB at a time under a multipart reader (its own buffer), and
// io.Copy writes a file 32 KiB at a time. A 50 MB upload then costs
// some 25,000 system calls, which were most of its time; at 256 KiB it
// costs a few hundred. Buffers are pooled, so a small transfer does not
// pay for allocating them and an idle agent holds none for long.
const ioSize = 256 << 10

// chunkSize is the least a gzip download hands the HTTP server at once.
// A gzip writer emits a few hundred bytes at a time, and the server
// sends what it is given as a chunk of its own once its 2 KiB buffer is
// full; the SDKs' clients decode a stream of large chunks far faster
// than one of small ones.
const chunkSize = 64 << 10

var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, ioSize) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, chunkSize) }}
	buffers = sync.Pool{New: func() any { b := make([]byte, ioSize); return &b }}
	// A gzip writer allocates about 1.2 MiB of state: a 1 KiB download
	// made a new one cost more than everything else it did.
	gzips = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}
)

// newGzipWriter is a pooled gzip writer to w; put it back in gzips after
// closing it.
func newGzipWriter(w io.Writer) *gzip.Writer {
	gz := gzips.Get().(*gzip.Writer)
	gz.Reset(w)
	return gz
}

// chunkWriter gathers writes into chunks of chunkSize.
type chunkWriter struct {
	*bufio.Writer
}

func newChunkWriter(w io.Writer) *chunkWriter {
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(w)
	return &chunkWriter{bw}
}

// release gives the buffer back, unflushed data dropped.
func (c *chunkWriter) release() {
	c.Writer.Reset(nil)
	writers.Put(c.Writer)
}

// bodyReader reads a request body in large reads.
type bodyReader struct {
	*bufio.Reader
}

func newBodyReader(r io.Reader) *bodyReader {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	return &bodyReader{br}
}

// release gives the buffer back; the reader must not be used after.
func (b *bodyReader) release() {
	if b.Reader == nil {
		return
	}
	b.Reader.Reset(nil)
	readers.Put(b.Reader)
	b.Reader = nil
}

// copyFull copies src to dst as io.Copy does, but fills its buffer before
// each write: a source that returns a few KiB per read (a multipart part)
// still gives the file large writes. The first error of src other than
// io.EOF is returned, after what was read before it is written.
func copyFull(dst io.Writer, src io.Reader) (int64, error) {
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	buf := *bp
	var written int64
	for {
		n, rerr := fill(src, buf)
		if n > 0 {
			w, werr := dst.Write(buf[:n])
			written += int64(w)
			if werr != nil {
				return written, werr
			}
			if w != n {
				return written, io.ErrShortWrite
			}
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}

// fill reads from src until buf is full or src fails or ends.
func fill(src io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := src.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
