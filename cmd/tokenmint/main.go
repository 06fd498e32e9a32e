// Command tokenmint mints short-lived, scoped tokens, hands them to CI
// steps and revokes them. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tokenmint/tokenmint/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.Env{
		Args:   os.Args[1:],
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
		Extra:  extraCommands(),
	})
	stop()
	os.Exit(code)
}
