//go:build !fakes

package main

import (
	"context"
	"errors"
	"io"

	"github.com/tokenmint/tokenmint/internal/cli"
)

// The production binary links no fake: fake-server says how to get it.
var fakeServerCommand = cli.Command{
	Summary: "the bundled fake token services (only in a build with -tags fakes)",
	Run: func(context.Context, []string, io.Writer, io.Writer, func(string) string) error {
		return &cli.UsageError{Err: errNoFakes}
	},
}

var errNoFakes = errors.New("failed to start fake-server: this build has no fakes; build with -tags fakes " +
	"(go run -tags fakes ./cmd/tokenmint fake-server) or run bash scripts/quickstart.sh")
