package main

import (
	"github.com/tokenmint/tokenmint/internal/cli"
	"github.com/tokenmint/tokenmint/internal/fakeserver"
)

// extraCommands are the subcommands that live in their own packages.
func extraCommands() map[string]cli.Command {
	return map[string]cli.Command{
		"fake-server": {Summary: "serve the bundled fake token services on 127.0.0.1", Run: fakeserver.Main},
	}
}
