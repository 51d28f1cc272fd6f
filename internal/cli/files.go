package cli

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/client"
)

func newFilesCmd() *cobra.Command {
	c := &conn{}
	cmd := &cobra.Command{
		Use:   "files",
		Short: "Copy files and directories into and out of sandboxes",
		Example: `  soulbox files upload <id> ./src /home/user/src
  soulbox files sync <id> ./src /home/user/src`,
	}
	c.flags(cmd)
	cmd.AddCommand(
		&cobra.Command{
			Use:     "upload ID LOCAL REMOTE",
			Short:   "Upload a file, or a directory tree, to REMOTE in the sandbox",
			Example: "  soulbox files upload i0123456789abcdefghi ./data.csv /home/user/data.csv\n  soulbox files upload i0123456789abcdefghi ./project /home/user/project",
			Args:    cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				cl, sb, err := c.sandbox(cmd, args[0])
				if err != nil {
					return err
				}
				files, err := localFiles(args[1])
				if err != nil {
					return err
				}
				for rel := range files {
					if err := uploadOne(cmd, cl, sb, filepath.Join(args[1], rel), remotePath(args[2], rel)); err != nil {
						return err
					}
				}
				return nil
			},
		},
		&cobra.Command{
			Use:     "download ID REMOTE LOCAL",
			Short:   "Download a file from the sandbox",
			Example: "  soulbox files download i0123456789abcdefghi /home/user/out.png ./out.png",
			Args:    cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				cl, sb, err := c.sandbox(cmd, args[0])
				if err != nil {
					return err
				}
				tmp := args[2] + ".soulbox-partial"
				f, err := os.Create(tmp)
				if err != nil {
					return err
				}
				p := newProgress(path.Base(args[1]), -1)
				err = cl.Download(cmd.Context(), sb, args[1], io.MultiWriter(f, p))
				p.finish()
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					os.Remove(tmp)
					return err
				}
				return os.Rename(tmp, args[2])
			},
		},
		&cobra.Command{
			Use:     "sync ID LOCALDIR REMOTEDIR",
			Short:   "Upload the files of LOCALDIR whose content differs from REMOTEDIR's",
			Example: "  soulbox files sync i0123456789abcdefghi ./src /home/user/src",
			Args:    cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				cl, sb, err := c.sandbox(cmd, args[0])
				if err != nil {
					return err
				}
				local, err := localFiles(args[1])
				if err != nil {
					return err
				}
				remote, err := remoteHashes(cmd, cl, sb, args[2])
				if err != nil {
					return err
				}
				sent := 0
				for rel, sum := range local {
					if remote[rel] == sum {
						continue
					}
					if err := uploadOne(cmd, cl, sb, filepath.Join(args[1], rel), remotePath(args[2], rel)); err != nil {
						return err
					}
					sent++
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%d of %d files changed and uploaded\n", sent, len(local))
				return nil
			},
		},
	)
	return cmd
}

// sandbox resolves the client and the sandbox (with its token).
func (c *conn) sandbox(cmd *cobra.Command, id string) (*client.Client, client.Sandbox, error) {
	cl, err := c.client()
	if err != nil {
		return nil, client.Sandbox{}, err
	}
	sb, err := cl.Get(cmd.Context(), id)
	return cl, sb, err
}

func uploadOne(cmd *cobra.Command, cl *client.Client, sb client.Sandbox, local, remote string) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	p := newProgress(filepath.Base(local), st.Size())
	err = cl.Upload(cmd.Context(), sb, remote, io.TeeReader(f, p), st.Size())
	p.finish()
	if err != nil {
		return fmt.Errorf("upload %s: %w", local, err)
	}
	return nil
}

// localFiles maps the regular files under root (or root itself, when it
// is a file, as ".") to their sha256.
func localFiles(root string) (map[string]string, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	if !st.IsDir() {
		sum, err := fileHash(root)
		out["."] = sum
		return out, err
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		sum, err := fileHash(p)
		out[filepath.ToSlash(rel)] = sum
		return err
	})
	return out, err
}

func fileHash(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// remoteHashes maps the files under dir in the sandbox to their sha256,
// computed there, so that only hashes cross the network.
func remoteHashes(cmd *cobra.Command, cl *client.Client, sb client.Sandbox, dir string) (map[string]string, error) {
	var out bytes.Buffer
	code, err := cl.Exec(cmd.Context(), sb, []string{"/bin/sh", "-c", `cd "$1" 2>/dev/null || exit 0; find . -type f -exec sha256sum {} +`, "sh", dir},
		client.ExecOptions{Stdout: &out, Stderr: io.Discard})
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("hash files under %s in the sandbox: exit code %d", dir, code)
	}
	hashes := map[string]string{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if ok {
			hashes[strings.TrimPrefix(name, "./")] = sum
		}
	}
	return hashes, sc.Err()
}

func remotePath(base, rel string) string {
	if rel == "." {
		return base
	}
	return path.Join(base, rel)
}
