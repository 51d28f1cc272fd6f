// Command code-interpreter-chart runs pandas and matplotlib in a sandbox's
// stateful Python and saves the chart it draws as chart.png, printing the
// chart's data as the interpreter read it from the figure.
//
//	go run ./examples/code-interpreter-chart
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

func main() {
	client, err := soulbox.New(soulbox.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := run(context.Background(), client, "chart.png", os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, client *soulbox.Client, pngPath string, out io.Writer) error {
	sb, err := client.Create(ctx, "", soulbox.CreateOptions{})
	if err != nil {
		return err
	}
	defer sb.Kill(context.WithoutCancel(ctx))

	// State persists between cells, as in a notebook.
	if _, err := sb.RunCode(ctx, "import pandas as pd\ndf = pd.DataFrame({'month': [1, 2, 3, 4], 'sales': [10, 14, 9, 17]})", nil); err != nil {
		return err
	}
	ex, err := sb.RunCode(ctx, "import matplotlib.pyplot as plt\nplt.plot(df.month, df.sales)\nplt.title('Sales')\nplt.show()\ndf.sales.sum()", nil)
	if err != nil {
		return err
	}
	if ex.Error != nil {
		return ex.Error
	}
	for _, r := range ex.Results {
		png, err := r.PNG()
		if err != nil || png == nil {
			continue
		}
		if err := os.WriteFile(pngPath, png, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "saved %s (%d bytes)\n", pngPath, len(png))
		if r.Chart != nil {
			fmt.Fprintf(out, "chart: %s %q\n", r.Chart.Type, r.Chart.Title)
		}
	}
	fmt.Fprintln(out, "total sales:", ex.Text())
	return nil
}
