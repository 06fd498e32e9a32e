// Command entrypoint is how the container's two phases reach
// `tokenmint action main|post`.
//
// The runner starts a container action's phases with `--entrypoint PATH`:
// one executable path, no arguments, the same `args` for both phases and no
// variable that tells them apart. The image therefore holds this small
// program under two names, /entrypoint/main and /entrypoint/post, and it
// execs the tokenmint binary with the phase its own name says. exec keeps
// the environment as is, including INPUT_ names with dashes, which /bin/sh
// would drop.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// target is the tokenmint binary (overridden with -ldflags -X in tests).
var target = "/tokenmint"

func main() {
	phase := filepath.Base(os.Args[0])
	if phase != "main" && phase != "post" {
		fmt.Fprintf(os.Stderr, "entrypoint: must be installed as .../main or .../post, not %q\n", phase)
		os.Exit(2)
	}
	err := syscall.Exec(target, []string{target, "action", phase}, os.Environ()) //nolint:gosec // target is fixed at link time (-X main.target); phase is main or post
	fmt.Fprintf(os.Stderr, "entrypoint: failed to start %s: %v\n", target, err)
	os.Exit(1)
}
