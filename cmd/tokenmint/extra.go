package main

import (
	"context"
	"errors"
	"io"

	"github.com/tokenmint/tokenmint/internal/cli"
	"github.com/tokenmint/tokenmint/internal/fakeserver"
	"github.com/tokenmint/tokenmint/internal/relay"
)

// extraCommands are the subcommands that live in their own packages.
func extraCommands() map[string]cli.Command {
	return map[string]cli.Command{
		"relay":       {Summary: "receive Tooken webhooks and trigger GitHub workflows (repository_dispatch)", Run: runRelay},
		"fake-server": {Summary: "serve the bundled fake token services on 127.0.0.1", Run: fakeserver.Main},
	}
}

// runRelay maps the relay's usage errors onto the CLI's (exit 2).
func runRelay(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	err := relay.Main(ctx, args, stdout, stderr, getenv)
	var ue *relay.UsageError
	if errors.As(err, &ue) {
		return &cli.UsageError{Err: err}
	}
	return err
}
