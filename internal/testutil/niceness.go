package testutil

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Niceness is the CPU niceness of thread tid (of a process's main thread
// for its pid), read from the host's /proc.
func Niceness(t testing.TB, tid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", tid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: nice is
	// the 19th field of the line, the 17th after the name.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	n, err := strconv.Atoi(fields[16])
	if err != nil {
		t.Fatal(err)
	}
	return n
}
