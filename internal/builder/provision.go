package builder

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// provisionVersion changes when provision writes something else.
const provisionVersion = "provision-1"

// provision adds the layer that makes any image a SoulBox template: the
// user "user" (uid 1000, home /home/user) E2B's SDKs run commands as, and
// the files the runtime expects to exist. It is written directly, without
// running anything in the image, so images without a shell or coreutils
// get it too.
func (n *Node) provision(stack []string, log Log) ([]string, error) {
	digest := key(append([]string{provisionVersion}, stack...)...)
	err := n.layers.Install(digest, func(dir string) error {
		etc := filepath.Join(dir, "etc")
		if err := mkdirAllIn(dir, stack, "/etc", 0, 0); err != nil {
			return err
		}
		passwd, _ := readInStack(stack, "/etc/passwd")
		if !hasEntry(passwd, defaultUser) {
			shell := "/bin/sh"
			if _, _, ok := lookupInStack(stack, "/bin/bash"); ok {
				shell = "/bin/bash"
			}
			if !hasEntry(passwd, "root") {
				passwd = appendLine(passwd, "root:x:0:0:root:/root:"+shell)
			}
			passwd = appendLine(passwd, fmt.Sprintf("%s:x:1000:1000:%s:/home/%s:%s", defaultUser, defaultUser, defaultUser, shell))
			if err := writeFile(filepath.Join(etc, "passwd"), passwd, 0o644); err != nil {
				return err
			}
			group, _ := readInStack(stack, "/etc/group")
			if !hasEntry(group, "root") {
				group = appendLine(group, "root:x:0:")
			}
			if !hasEntry(group, defaultUser) {
				group = appendLine(group, defaultUser+":x:1000:")
			}
			if err := writeFile(filepath.Join(etc, "group"), group, 0o644); err != nil {
				return err
			}
		}
		if err := mkdirAllIn(dir, stack, "/home/"+defaultUser, 1000, 1000); err != nil {
			return err
		}
		// The runtime writes these at every start; they must be files.
		for _, f := range []string{"hostname", "hosts", "resolv.conf"} {
			if _, _, ok := lookupInStack(stack, "/etc/"+f); !ok {
				if err := writeFile(filepath.Join(etc, f), "", 0o644); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add the sandbox user to the image: %w", err)
	}
	log("info", "base", "added user "+defaultUser+" (uid 1000)")
	return append([]string{n.layers.Path(digest)}, stack...), nil
}

func hasEntry(file, name string) bool {
	for _, line := range strings.Split(file, "\n") {
		if strings.HasPrefix(line, name+":") {
			return true
		}
	}
	return false
}

func appendLine(file, line string) string {
	if file != "" && !strings.HasSuffix(file, "\n") {
		file += "\n"
	}
	return file + line + "\n"
}

func writeFile(path, content string, mode os.FileMode) error {
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}
