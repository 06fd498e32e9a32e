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
	// Sleep replaces the waits between retries (tests). Nil: real waits.
	Sleep func(context.Context, time.Duration) error
	// Terminal reports whether w is a terminal (tests). Nil: a character
	// device check.
	Terminal func(w io.Writer) bool
	// Environ is the environment exec's COMMAND inherits. Nil: os.Environ.
	Environ func() []string
	// Signals, when set, replaces the signals exec forwards to COMMAND
	// (tests); nil: SIGINT, SIGTERM and SIGHUP of this process.
	Signals <-chan os.Signal
	// Subcommands registered by other packages (relay, fake-server…).
	Extra map[string]Command
}

// Command is an extra subcommand.
type Command struct {
	Summary string
	Run     func(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error
}

// commands are the CLI's own subcommands, in the order the overview
// lists them.
var commands = []struct{ name, summary string }{
	{"mint", "mint a token and print it"},
	{"exec", "run a command with a fresh token, revoke it when the command ends"},
	{"list", "list tokens (table, or --output json)"},
	{"revoke", "revoke tokens by ID"},
	{"rotate", "mint, write into GitHub secrets, retire older tokens"},
	{"action", "run the GitHub Action's main or post phase"},
	{"version", "print the version"},
	{"help", "show help for a command"},
}

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
	var xe *ExitCodeError
	if errors.As(err, &xe) {
		if xe.Err != nil {
			fmt.Fprintf(stderr, "tokenmint: %s\n", oneLine(xe.Err))
		}
		return xe.Code
	}
	msg := oneLine(err)
	fmt.Fprintf(stderr, "tokenmint: %s\n", msg)
	var ue *UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	// Another package's usage error (fake-server's) says so itself.
	var ou interface{ UsageError() bool }
	if errors.As(err, &ou) && ou.UsageError() {
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
		c.printUsage(c.stderr)
		return usagef("a command is required")
	}
	return c.dispatch(ctx, args[0], args[1:])
}

func (c *cmd) dispatch(ctx context.Context, name string, rest []string) error {
	switch name {
	case "mint":
		return c.mint(ctx, rest)
	case "exec":
		return c.exec(ctx, rest)
	case "list":
		return c.list(ctx, rest)
	case "revoke":
		return c.revoke(ctx, rest)
	case "rotate":
		return c.rotate(ctx, rest)
	case "version", "--version":
		return c.version(rest)
	case "action":
		return c.action(ctx, rest)
	case "-h", "--help", "-help":
		c.printUsage(c.env.Stdout)
		return nil
	case "help":
		if len(rest) == 0 || rest[0] == "help" {
			c.printUsage(c.env.Stdout)
			return nil
		}
		if !c.known(rest[0]) {
			return usagef("unknown command %q: run 'tokenmint help' for the list", rest[0])
		}
		return c.dispatch(ctx, rest[0], []string{"--help"})
	}
	if x, ok := c.env.Extra[name]; ok {
		return x.Run(ctx, rest, c.env.Stdout, c.stderr, c.env.Getenv)
	}
	return usagef("unknown command %q: run 'tokenmint help' for the list", name)
}

func (c *cmd) known(name string) bool {
	for _, k := range commands {
		if k.name == name {
			return true
		}
	}
	_, ok := c.env.Extra[name]
	return ok
}

// printUsage writes the overview of every command.
func (c *cmd) printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Usage: tokenmint COMMAND [flags]\n\n")
	b.WriteString("tokenmint mints short-lived, scoped tokens, hands them to one command or CI step, and revokes them.\n\nCommands:\n")
	type row struct{ name, summary string }
	rows := make([]row, 0, len(commands)+len(c.env.Extra))
	for _, k := range commands {
		rows = append(rows, row{k.name, k.summary})
	}
	for _, k := range sortedNames(c.env.Extra) {
		rows = append(rows, row{k, c.env.Extra[k].Summary})
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-12s %s\n", r.name, r.summary)
	}
	b.WriteString("\nThe admin credential comes from TOKENMINT_ADMIN_KEY or --admin-key-file (a path, or - for stdin), never from a flag value.\n")
	b.WriteString("Every flag can also be set as TOKENMINT_<FLAG> (for example TOKENMINT_API_URL).\n")
	b.WriteString("Run 'tokenmint help COMMAND' or 'tokenmint COMMAND --help' for a command's flags.\n")
	_, _ = io.WriteString(w, b.String())
}

func (c *cmd) httpClient(timeout time.Duration, service string) *httpx.Client {
	opts := []httpx.Option{httpx.WithTimeout(timeout), httpx.WithMasker(c.masker), httpx.WithService(service),
		httpx.WithOnRetry(func(r httpx.Retry) {
			c.logf("retrying a %s request in %s (attempt %d failed): %s", r.Method, r.Wait.Round(time.Millisecond), r.Attempt, oneLine(r.Err))
		})}
	if c.env.Sleep != nil {
		opts = append(opts, httpx.WithClock(c.env.Now, c.env.Sleep))
	}
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
		parts = append(parts, cliInputName(ie.Input)+": "+ie.Rule)
	}
	for _, e := range rest {
		parts = append(parts, e.Error())
	}
	s := strings.Join(parts, "; ")
	return strings.NewReplacer("\r", " ", "\n", "; ").Replace(s)
}

// cliInputName is how the CLI names an action input in an error: the
// flag, or for a secret where it comes from.
func cliInputName(input string) string {
	switch input {
	case "admin-key":
		return "TOKENMINT_ADMIN_KEY (or --admin-key-file)"
	case "github-token":
		return "GITHUB_TOKEN (or --github-token-file)"
	}
	if _, ok := config.Lookup(input); ok {
		return "--" + input
	}
	return input
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
