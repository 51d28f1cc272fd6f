package soulbox_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/soulbox/soulbox/internal/server/servertest"
)

// srv is the server every test and example of this package talks to. The
// examples find it the way users' programs do: in the environment.
var srv *servertest.Server

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("skipping the SDK's tests: they run a server with real sandboxes")
		os.Exit(0)
	}
	if why := servertest.Usable(); why != "" {
		fmt.Println("skipping the SDK's tests:", why)
		os.Exit(0)
	}
	var err error
	if srv, err = servertest.Run(nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, k := range []string{"E2B_API_URL", "E2B_API_KEY", "E2B_SANDBOX_URL", "E2B_DOMAIN"} {
		os.Unsetenv(k)
	}
	os.Setenv("SOULBOX_API_URL", srv.URL)
	os.Setenv("SOULBOX_API_KEY", srv.APIKey)
	code := m.Run()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop server:", err)
		code = 1
	}
	os.Exit(code)
}
