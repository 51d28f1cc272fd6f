package files

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// contentType parses an upload's Content-Type ("" is none).
func contentType(ct string) (string, map[string]string, *httpError) {
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil && ct != "" {
		return "", nil, errorf(http.StatusBadRequest, err, "invalid Content-Type %q", ct)
	}
	return mediaType, params, nil
}

// eachFile decodes an upload body and calls put with every file in it:
// its destination as the client named it (path, the path query parameter,
// or else the file name of its multipart part) and its content, which put
// must read before eachFile goes on. An application/octet-stream body is
// one file at path; a multipart body has a file in each part named
// "file", and path names a destination for one file only.
func eachFile(mediaType string, params map[string]string, path string, body io.Reader, put func(name string, r io.Reader) *httpError) *httpError {
	switch {
	case mediaType == "application/octet-stream":
		if path == "" {
			return errorf(http.StatusBadRequest, nil, "path is required for an application/octet-stream upload: pass the destination as the path query parameter")
		}
		return put(path, body)
	case strings.HasPrefix(mediaType, "multipart/"):
		return eachPart(path, body, params["boundary"], put)
	default:
		return errorf(http.StatusBadRequest, nil, "unsupported Content-Type %q: send multipart/form-data or application/octet-stream",
			mime.FormatMediaType(mediaType, params))
	}
}

// eachPart calls put with every part named "file" of a multipart body.
func eachPart(path string, body io.Reader, boundary string, put func(name string, r io.Reader) *httpError) *httpError {
	if boundary == "" {
		return errorf(http.StatusBadRequest, nil, "multipart Content-Type without a boundary")
	}
	mr := multipart.NewReader(body, boundary)
	for n := 0; ; {
		part, err := mr.NextPart()
		// Only a bare io.EOF is the end of the form: a body without its
		// closing boundary gives an error wrapping io.EOF.
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errorf(http.StatusBadRequest, err, "malformed multipart body")
		}
		if part.FormName() != "file" {
			continue // NextPart skips what is left of it
		}
		name := path
		if name == "" {
			// The file name with its directories: Part.FileName keeps
			// only the last element.
			_, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			if err != nil {
				return errorf(http.StatusBadRequest, err, "malformed Content-Disposition of a multipart file part")
			}
			name = params["filename"]
			if name == "" {
				return errorf(http.StatusBadRequest, nil, "a file part has no file name: name it, or pass the destination as the path query parameter")
			}
		} else if n > 0 {
			return errorf(http.StatusBadRequest, nil, "the path query parameter names one destination but the form has several files: omit path and give each part its destination as file name")
		}
		n++
		if herr := put(name, part); herr != nil {
			return herr
		}
	}
}
