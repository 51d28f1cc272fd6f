// Command go-quickstart is the Go SDK's first steps: create a sandbox, run
// a command, write and read a file, run Python, and clean up.
//
//	export SOULBOX_API_URL=http://127.0.0.1:3000 SOULBOX_API_KEY=$(sudo cat /var/lib/soulbox/admin.key)
//	go run ./examples/go-quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

func main() {
	client, err := soulbox.New(soulbox.Options{}) // from SOULBOX_API_URL/KEY or E2B_API_URL/KEY
	if err != nil {
		log.Fatal(err)
	}
	if err := run(context.Background(), client, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, client *soulbox.Client, out io.Writer) error {
	sb, err := client.Create(ctx, "base", soulbox.CreateOptions{Timeout: 5 * time.Minute})
	if err != nil {
		return err
	}
	defer sb.Kill(context.WithoutCancel(ctx))
	fmt.Fprintln(out, "sandbox", sb.ID)

	res, err := sb.Commands.Run(ctx, "uname -sm && python3 --version", nil)
	if err != nil {
		return err
	}
	fmt.Fprint(out, res.Stdout)

	if _, err := sb.Files.WriteFile(ctx, "data/numbers.txt", []byte("3\n1\n2\n"), nil); err != nil {
		return err
	}
	res, err = sb.Commands.Run(ctx, "sort -n data/numbers.txt | paste -sd,", nil)
	if err != nil {
		return err
	}
	fmt.Fprint(out, "sorted: ", res.Stdout)

	ex, err := sb.RunCode(ctx, "import statistics\nstatistics.mean([3, 1, 2])", nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "mean:", ex.Text())
	return nil
}
