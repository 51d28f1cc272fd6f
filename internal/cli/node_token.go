package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// maxJoinTokenFile bounds what --join-token-file reads: a token is well
// under 200 bytes.
const maxJoinTokenFile = 4096

// readJoinToken reads the join token from path ("-": stdin), without
// its surrounding white space, so that it never has to be on the
// command line, where any user of the host sees it.
func readJoinToken(path string, stdin io.Reader) (string, error) {
	r := stdin
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("--join-token-file: %w: %w", err, errdefs.ErrInvalidArgument)
		}
		defer f.Close()
		r, name = f, path
	}
	b, err := io.ReadAll(io.LimitReader(r, maxJoinTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("--join-token-file: read %s: %w", name, err)
	}
	tok := strings.TrimSpace(string(b))
	switch {
	case len(b) > maxJoinTokenFile:
		return "", fmt.Errorf("--join-token-file: %s holds more than %d bytes: want the one join token: %w", name, maxJoinTokenFile, errdefs.ErrInvalidArgument)
	case tok == "":
		return "", fmt.Errorf("--join-token-file: %s holds no join token: %w", name, errdefs.ErrInvalidArgument)
	}
	return tok, nil
}
