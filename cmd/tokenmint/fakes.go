//go:build fakes

package main

import (
	"github.com/tokenmint/tokenmint/internal/cli"
	"github.com/tokenmint/tokenmint/internal/fakeserver"
)

// fakeServerCommand serves the fakes; only in a build with -tags fakes
// (the quick start, the self-test, the benchmarks), never in the image.
var fakeServerCommand = cli.Command{Summary: "serve the bundled fake token services on 127.0.0.1", Run: fakeserver.Main}
