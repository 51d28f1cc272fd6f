package soulbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"connectrpc.com/connect"

	fspb "github.com/soulbox/soulbox/api/envd/filesystem"
	"github.com/soulbox/soulbox/internal/envd"
)

// Files reads, writes, lists and watches a sandbox's files. Paths are
// absolute or relative to the user's home.
type Files struct {
	sb *Sandbox
}

// FileOptions choose the user a file operation acts as (default: the
// sandbox's default user).
type FileOptions struct {
	User string
}

func user(o *FileOptions) string {
	if o == nil {
		return ""
	}
	return o.User
}

// EntryType is the type of a file system entry.
type EntryType string

// Entry types.
const (
	TypeFile    EntryType = "file"
	TypeDir     EntryType = "dir"
	TypeSymlink EntryType = "symlink"
)

// EntryInfo describes a file, directory or symlink in the sandbox.
type EntryInfo struct {
	Name          string            `json:"name"`
	Type          EntryType         `json:"type"`
	Path          string            `json:"path"`
	Size          int64             `json:"size"`
	Mode          os.FileMode       `json:"mode"`
	Permissions   string            `json:"permissions"`
	Owner         string            `json:"owner"`
	Group         string            `json:"group"`
	ModifiedTime  time.Time         `json:"modifiedTime"`
	SymlinkTarget string            `json:"symlinkTarget,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

func entry(e *fspb.EntryInfo) EntryInfo {
	if e == nil {
		return EntryInfo{}
	}
	out := EntryInfo{Name: e.GetName(), Path: e.GetPath(), Size: e.GetSize(), Mode: os.FileMode(e.GetMode()), Permissions: e.GetPermissions(),
		Owner: e.GetOwner(), Group: e.GetGroup(), SymlinkTarget: e.GetSymlinkTarget(), Metadata: e.GetMetadata()}
	if t := e.GetModifiedTime(); t != nil {
		out.ModifiedTime = t.AsTime()
	}
	switch e.GetType() {
	case fspb.FileType_FILE_TYPE_FILE:
		out.Type = TypeFile
	case fspb.FileType_FILE_TYPE_DIRECTORY:
		out.Type = TypeDir
	case fspb.FileType_FILE_TYPE_SYMLINK:
		out.Type = TypeSymlink
	}
	return out
}

// filesQuery is the query of the agent's /files route.
func filesQuery(path, user string) string {
	q := url.Values{}
	if path != "" {
		q.Set("path", path)
	}
	if user != "" {
		q.Set("username", user)
	}
	return "/files?" + q.Encode()
}

// Read opens the file at path for reading; the caller closes it.
func (f *Files) Read(ctx context.Context, path string, o *FileOptions) (io.ReadCloser, error) {
	if path == "" {
		return nil, &Error{kind: ErrInvalidArgument, Message: "no path to read"}
	}
	req, err := f.sb.request(ctx, envd.Port, "GET", filesQuery(path, user(o)), user(o), nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.sb.send(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// ReadFile returns the content of the file at path.
func (f *Files) ReadFile(ctx context.Context, path string, o *FileOptions) ([]byte, error) {
	r, err := f.Read(ctx, path, o)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, transportError(ctx, "sandbox "+f.sb.ID, err)
	}
	return b, nil
}

// WriteInfo is a file the sandbox wrote.
type WriteInfo struct {
	Path string    `json:"path"`
	Name string    `json:"name"`
	Type EntryType `json:"type"`
}

// Write streams r into the file at path, creating it and its parents
// (owned by the user), replacing what was there.
func (f *Files) Write(ctx context.Context, path string, r io.Reader, o *FileOptions) (WriteInfo, error) {
	if path == "" {
		return WriteInfo{}, &Error{kind: ErrInvalidArgument, Message: "no path to write"}
	}
	req, err := f.sb.request(ctx, envd.Port, "POST", filesQuery(path, user(o)), user(o), r)
	if err != nil {
		return WriteInfo{}, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	infos, err := f.written(ctx, req)
	if err != nil {
		return WriteInfo{}, err
	}
	if len(infos) == 0 {
		return WriteInfo{Path: path}, nil
	}
	return infos[0], nil
}

// WriteFile writes data to the file at path.
func (f *Files) WriteFile(ctx context.Context, path string, data []byte, o *FileOptions) (WriteInfo, error) {
	return f.Write(ctx, path, bytes.NewReader(data), o)
}

// WriteEntry is one file of a batch write.
type WriteEntry struct {
	Path string
	Data io.Reader
}

// WriteFiles writes several files in one request.
func (f *Files) WriteFiles(ctx context.Context, files []WriteEntry, o *FileOptions) ([]WriteInfo, error) {
	if len(files) == 0 {
		return nil, nil
	}
	for i, e := range files {
		if e.Path == "" || e.Data == nil {
			return nil, &Error{kind: ErrInvalidArgument, Message: fmt.Sprintf("batch entry %d: needs a Path and Data", i)}
		}
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, e := range files {
			part, err := mw.CreateFormFile("file", e.Path)
			if err == nil {
				_, err = io.Copy(part, e.Data)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	req, err := f.sb.request(ctx, envd.Port, "POST", filesQuery("", user(o)), user(o), pr)
	if err != nil {
		pr.Close()
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	infos, err := f.written(ctx, req)
	pr.Close()
	return infos, err
}

// written sends an upload and reads the agent's list of written files.
func (f *Files) written(ctx context.Context, req *http.Request) ([]WriteInfo, error) {
	resp, err := f.sb.send(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var infos []WriteInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&infos); err != nil && err != io.EOF {
		return nil, fmt.Errorf("upload to sandbox %s: unexpected answer: %w", f.sb.ID, err)
	}
	return infos, nil
}

// List lists the directory at path, descending depth levels (0 and 1:
// its entries only).
func (f *Files) List(ctx context.Context, path string, depth uint32, o *FileOptions) ([]EntryInfo, error) {
	if depth == 0 {
		depth = 1
	}
	res, err := f.sb.filesystem(user(o)).ListDir(ctx, connect.NewRequest(&fspb.ListDirRequest{Path: path, Depth: depth}))
	if err != nil {
		return nil, wrap(ctx, err)
	}
	out := make([]EntryInfo, 0, len(res.Msg.GetEntries()))
	for _, e := range res.Msg.GetEntries() {
		out = append(out, entry(e))
	}
	return out, nil
}

// Stat describes the entry at path.
func (f *Files) Stat(ctx context.Context, path string, o *FileOptions) (EntryInfo, error) {
	res, err := f.sb.filesystem(user(o)).Stat(ctx, connect.NewRequest(&fspb.StatRequest{Path: path}))
	if err != nil {
		return EntryInfo{}, wrap(ctx, err)
	}
	return entry(res.Msg.GetEntry()), nil
}

// Exists says whether something is at path.
func (f *Files) Exists(ctx context.Context, path string, o *FileOptions) (bool, error) {
	_, err := f.Stat(ctx, path, o)
	if err == nil {
		return true, nil
	}
	if isKind(err, ErrNotFound) {
		return false, nil
	}
	return false, err
}

// Remove removes the file or directory (with its content) at path.
func (f *Files) Remove(ctx context.Context, path string, o *FileOptions) error {
	_, err := f.sb.filesystem(user(o)).Remove(ctx, connect.NewRequest(&fspb.RemoveRequest{Path: path}))
	return wrap(ctx, err)
}

// Rename moves the entry at oldPath to newPath.
func (f *Files) Rename(ctx context.Context, oldPath, newPath string, o *FileOptions) (EntryInfo, error) {
	res, err := f.sb.filesystem(user(o)).Move(ctx, connect.NewRequest(&fspb.MoveRequest{Source: oldPath, Destination: newPath}))
	if err != nil {
		return EntryInfo{}, wrap(ctx, err)
	}
	return entry(res.Msg.GetEntry()), nil
}

// MakeDir creates the directory at path with its parents. It returns
// false when the directory already existed.
func (f *Files) MakeDir(ctx context.Context, path string, o *FileOptions) (bool, error) {
	_, err := f.sb.filesystem(user(o)).MakeDir(ctx, connect.NewRequest(&fspb.MakeDirRequest{Path: path}))
	if err = wrap(ctx, err); isKind(err, ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// SignedURLOptions say for whom and how long a signed URL is good.
type SignedURLOptions struct {
	// User is the user the file is read or written as (default: the
	// sandbox's default user).
	User string
	// Expires makes the URL stop working after it (0: it works as long
	// as the sandbox).
	Expires time.Duration
}

// DownloadURL returns a URL from which anyone holding it can GET the file
// at path, without the API key. The sandbox must have an access token
// (created secure, the default).
func (f *Files) DownloadURL(path string, o *SignedURLOptions) (string, error) {
	return f.signedURL(path, "read", o)
}

// UploadURL returns a URL to which anyone holding it can POST the file at
// path (multipart or application/octet-stream), without the API key.
func (f *Files) UploadURL(path string, o *SignedURLOptions) (string, error) {
	return f.signedURL(path, "write", o)
}

func (f *Files) signedURL(path, op string, o *SignedURLOptions) (string, error) {
	if o == nil {
		o = &SignedURLOptions{}
	}
	tok := f.sb.accessToken
	if tok == "" {
		return "", &Error{kind: ErrInvalidArgument, Message: "the sandbox has no access token to sign with (created with Secure false)"}
	}
	raw := path + ":" + op + ":" + o.User + ":" + tok
	q := url.Values{}
	if o.Expires > 0 {
		exp := strconv.FormatInt(time.Now().Add(o.Expires).Unix(), 10)
		raw += ":" + exp
		q.Set("signature_expiration", exp)
	}
	sum := sha256.Sum256([]byte(raw))
	q.Set("signature", "v1_"+base64.RawStdEncoding.EncodeToString(sum[:]))
	if path != "" {
		q.Set("path", path)
	}
	if o.User != "" {
		q.Set("username", o.User)
	}
	base, _ := f.sb.base(envd.Port)
	return fmt.Sprintf("%s/files?%s", base, q.Encode()), nil
}
