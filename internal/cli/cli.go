// Package cli is the tokenmint command line: mint, list, revoke, rotate,
// version, and the action's phases. Flags mirror the action inputs; each
// flag can also come from TOKENMINT_<NAME>. Secrets come only from the
// environment or a file (or stdin), never from a flag value.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/action"
	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Version is stamped by the linker.
var Version = "dev"

// Exit codes.
const (
	ExitOK    = 0
	ExitFail  = 1
	ExitUsage = 2
)

// UsageError is a mistake in how the command was called (exit 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Env is the process environment the CLI runs in.
type Env struct {
	Args   []string // without the program name
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// HTTPClient replaces the default client (tests).
	HTTPClient *http.Client
	Now        func() time.Time
	// Subcommands registered by other packages (relay, fake-server…).
	Extra map[string]Command
}

// Command is an extra subcommand.
type Command struct {
	Summary string
	Run     func(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error
}

const usage = `tokenmint mints short-lived, scoped tokens and revokes them.

Usage:
  tokenmint mint    [flags]        mint a token and print it
  tokenmint list    [flags]        list tokens (table or --output json)
  tokenmint revoke  [flags] ID...  revoke tokens by ID
  tokenmint rotate  [flags]        mint and write into GitHub secrets, retire older tokens
  tokenmint action  main|post      run the GitHub Action's main or post phase
  tokenmint version                print the version
%s
The admin credential comes from TOKENMINT_ADMIN_KEY or --admin-key-file (a path, or - for stdin).
Every flag can also be set as TOKENMINT_<FLAG> (for example TOKENMINT_API_URL).
Run 'tokenmint <command> -h' for a command's flags.
`

// Run runs the CLI and returns the exit code. Errors are printed once, on
// one line, on stderr, with every known secret masked.
func Run(ctx context.Context, e Env) int {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	masker := redact.NewMasker()
	masker.Add(strings.TrimSpace(e.Getenv("TOKENMINT_ADMIN_KEY")))
	masker.Add(strings.TrimSpace(e.Getenv("GITHUB_TOKEN")))
	for _, s := range config.ProviderSecretValues(e.Getenv("TOKENMINT_PROVIDER_SECRETS")) {
		masker.Add(s)
	}
	stderr := &maskedWriter{w: e.Stderr, m: masker}
	c := &cmd{env: e, masker: masker, stderr: stderr}
	err := c.run(ctx)
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, action.ErrFailed) {
		return ExitFail
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	msg := oneLine(err)
	fmt.Fprintf(stderr, "tokenmint: %s\n", msg)
	var ue *UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	if ies, rest := inputerr.List(err); len(ies) > 0 && len(rest) == 0 {
		return ExitUsage
	}
	return ExitFail
}

type cmd struct {
	env    Env
	masker *redact.Masker
	stderr io.Writer
}

func (c *cmd) run(ctx context.Context) error {
	args := c.env.Args
	if len(args) == 0 {
		c.printUsage()
		return usagef("a command is required")
	}
	name, rest := args[0], args[1:]
	switch name {
	case "mint":
		return c.mint(ctx, rest)
	case "list":
		return c.list(ctx, rest)
	case "revoke":
		return c.revoke(ctx, rest)
	case "rotate":
		return c.rotate(ctx, rest)
	case "version", "--version", "-version":
		fmt.Fprintf(c.env.Stdout, "tokenmint %s\n", Version)
		return nil
	case "action":
		if len(rest) != 1 || (rest[0] != "main" && rest[0] != "post") {
			return usagef("usage: tokenmint action main|post")
		}
		rt := &action.Runtime{Getenv: c.env.Getenv, Stdout: c.env.Stdout, HTTPClient: c.env.HTTPClient, Now: c.env.Now}
		return action.Run(ctx, rt, rest[0])
	case "help", "-h", "--help", "-help":
		c.printUsage()
		return nil
	}
	if x, ok := c.env.Extra[name]; ok {
		return x.Run(ctx, rest, c.env.Stdout, c.stderr, c.env.Getenv)
	}
	c.printUsage()
	return usagef("unknown command %q", name)
}

func (c *cmd) printUsage() {
	var extra strings.Builder
	for _, k := range sortedNames(c.env.Extra) {
		fmt.Fprintf(&extra, "  tokenmint %-22s %s\n", k, c.env.Extra[k].Summary)
	}
	fmt.Fprintf(c.stderr, usage, extra.String())
}

func (c *cmd) httpClient(timeout time.Duration, service string) *httpx.Client {
	opts := []httpx.Option{httpx.WithTimeout(timeout), httpx.WithMasker(c.masker), httpx.WithService(service)}
	if c.env.HTTPClient != nil {
		opts = append(opts, httpx.WithHTTPClient(c.env.HTTPClient))
	}
	return httpx.New(opts...)
}

// oneLine flattens a (joined) error onto one line.
func oneLine(err error) string {
	ies, rest := inputerr.List(err)
	var parts []string
	for _, ie := range ies {
		parts = append(parts, ie.Error())
	}
	for _, e := range rest {
		parts = append(parts, e.Error())
	}
	s := strings.Join(parts, "; ")
	return strings.NewReplacer("\r", " ", "\n", "; ").Replace(s)
}

type maskedWriter struct {
	w io.Writer
	m *redact.Masker
}

func (mw *maskedWriter) Write(p []byte) (int, error) {
	if _, err := mw.w.Write([]byte(mw.m.Mask(string(p)))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Env name for a flag: TOKENMINT_ + upper-cased, dashes to underscores.
func envName(flagName string) string {
	return "TOKENMINT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
