package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/tokenmint/tokenmint/internal/action"
	"github.com/tokenmint/tokenmint/internal/clihelp"
)

// noteSecrets ends the help of every command that reads the admin key.
const noteSecrets = "Secrets are never taken from a flag value: the admin credential comes from TOKENMINT_ADMIN_KEY or --admin-key-file. Every flag can also be set as TOKENMINT_<FLAG>."

func (c *cmd) version(args []string) error {
	f := &flagSet{
		page:   clihelp.Page{Usage: "tokenmint version", Summary: "Print tokenmint's version: the release it was built from, or the module version and commit that go install recorded."},
		stdout: c.env.Stdout, getenv: c.env.Getenv, fs: newBareFlagSet("version"),
	}
	if err := f.parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return usagef("version takes no arguments")
	}
	bi, ok := debug.ReadBuildInfo()
	fmt.Fprintf(c.env.Stdout, "tokenmint %s\n", versionString(Version, bi, ok))
	return nil
}

// versionString is the linker-stamped version, else what the Go toolchain
// recorded: the module version (go install …@v1.2.3) and the commit.
func versionString(stamped string, bi *debug.BuildInfo, ok bool) string {
	if stamped != "" && stamped != "dev" {
		return stamped
	}
	if !ok || bi == nil {
		return "dev"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	// A pseudo-version already names the commit.
	if rev != "" && !strings.Contains(v, rev[:min(12, len(rev))]) {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if modified == "true" {
			rev += ", modified"
		}
		v += " (" + rev + ")"
	}
	return v
}

func (c *cmd) action(ctx context.Context, args []string) error {
	f := &flagSet{
		page:   clihelp.Page{Usage: "tokenmint action main|post", Summary: "Run the GitHub Action's main or post phase. The container's entry points call these; inputs come from the INPUT_* variables the runner sets, as action.yml describes."},
		stdout: c.env.Stdout, getenv: c.env.Getenv,
	}
	f.fs = newBareFlagSet("action")
	if err := f.parse(args); err != nil {
		return err
	}
	rest := f.fs.Args()
	if len(rest) != 1 || (rest[0] != "main" && rest[0] != "post") {
		return usagef("usage: tokenmint action main|post")
	}
	rt := &action.Runtime{Getenv: c.env.Getenv, Stdout: c.env.Stdout, HTTPClient: c.env.HTTPClient, Now: c.env.Now}
	return action.Run(ctx, rt, rest[0])
}

// newBareFlagSet is a flag set for a command without flags of its own
// (--help still works).
func newBareFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}
