package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Flag groups, by input name.
var (
	providerFlags = []string{"provider", "api-url", "client-id", "provider-config", "auth-header", "timeout"}
	mintFlags     = []string{"name", "description", "scopes", "ttl", "owner", "repositories", "permissions"}
	rotateFlags   = []string{"github-api-url", "secret-name", "secret-type", "secret-repositories", "secret-environment",
		"secret-org", "secret-visibility", "secret-selected-repositories", "previous-token-grace", "dry-run"}
)

type flagSet struct {
	fs      *flag.FlagSet
	set     map[string]*string
	keyFile *string
	secFile *string
	ghFile  *string
	output  *string
	getenv  func(string) string
	stderr  io.Writer
}

// secretFlags are refused as flags: a secret in a flag value ends up in
// shell history and process listings. The value is never echoed.
var secretFlags = map[string]string{
	"admin-key":    "set TOKENMINT_ADMIN_KEY or use --admin-key-file",
	"github-token": "set GITHUB_TOKEN or use --github-token-file",
	// rest profiles' secrets (NAME=value lines).
	"provider-secrets": "set TOKENMINT_PROVIDER_SECRETS or use --provider-secrets-file",
}

func (c *cmd) newFlags(name string, inputs []string, outputs string) *flagSet {
	f := &flagSet{fs: flag.NewFlagSet(name, flag.ContinueOnError), set: map[string]*string{}, getenv: c.env.Getenv}
	f.fs.SetOutput(io.Discard)
	f.stderr = c.stderr
	for _, in := range inputs {
		def, _ := config.Lookup(in)
		desc := def.Description
		if def.Default != "" {
			desc += " (default " + def.Default + ")"
		}
		f.set[in] = f.fs.String(in, "", desc+" [env "+envName(in)+"]")
	}
	f.keyFile = f.fs.String("admin-key-file", "", "read the admin credential from this file, or - for stdin [default: env TOKENMINT_ADMIN_KEY]")
	f.secFile = f.fs.String("provider-secrets-file", "", "rest: read the profile's secrets (NAME=value lines) from this file, or - for stdin [default: env TOKENMINT_PROVIDER_SECRETS]")
	f.ghFile = new(string)
	if outputs != "" {
		f.output = f.fs.String("output", "", "output format: "+outputs+" [env TOKENMINT_OUTPUT]")
	}
	return f
}

func (f *flagSet) parse(args []string) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") {
			if hint, ok := secretFlags[name]; ok {
				return usagef("--%s is not accepted: secrets are never taken from a flag value; %s", name, hint)
			}
		}
	}
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(f.stderr, "Usage of tokenmint %s:\n", f.fs.Name())
			f.fs.SetOutput(f.stderr)
			f.fs.PrintDefaults()
			return err
		}
		return &UsageError{Err: err}
	}
	return nil
}

// values merges flags over TOKENMINT_* variables.
func (f *flagSet) values() config.Values {
	v := config.Values{}
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	for name, p := range f.set {
		if given[name] {
			v[name] = *p
		} else {
			v[name] = f.getenv(envName(name))
		}
	}
	return v
}

func (f *flagSet) outputFormat(allowed ...string) (string, error) {
	out := ""
	if f.output != nil {
		out = *f.output
		if out == "" {
			out = f.getenv("TOKENMINT_OUTPUT")
		}
	}
	if out == "" {
		return allowed[0], nil
	}
	for _, a := range allowed {
		if out == a {
			return out, nil
		}
	}
	return "", usagef("--output must be one of %s", strings.Join(allowed, ", "))
}

// adminKey reads the admin key from --admin-key-file (or stdin) or env,
// and with it the rest profile's secrets into v.
func (c *cmd) adminKey(f *flagSet, v config.Values) (string, error) {
	sec, err := c.secret("--provider-secrets-file", *f.secFile, "TOKENMINT_PROVIDER_SECRETS")
	if err != nil {
		return "", err
	}
	for _, s := range config.ProviderSecretValues(sec) {
		c.masker.Add(s)
	}
	v["provider-secrets"] = sec
	if *f.secFile == "-" && *f.keyFile == "-" {
		return "", usagef("--admin-key-file and --provider-secrets-file cannot both read stdin")
	}
	return c.secret("--admin-key-file", *f.keyFile, "TOKENMINT_ADMIN_KEY")
}

// secret reads a secret from a file flag (a path, or - for stdin) or else
// the first non-empty environment variable, and registers it with the
// masker.
func (c *cmd) secret(flagName, path string, envNames ...string) (string, error) {
	var v string
	if path != "" {
		var data []byte
		var err error
		if path == "-" {
			data, err = io.ReadAll(io.LimitReader(c.env.Stdin, 1<<20))
		} else {
			data, err = os.ReadFile(path) //nolint:gosec // the CLI user names their own secret file (--admin-key-file)
		}
		if err != nil {
			return "", usagef("failed to read %s: %v", flagName, err)
		}
		v = strings.TrimSpace(string(data))
	} else {
		for _, name := range envNames {
			if v = strings.TrimSpace(c.env.Getenv(name)); v != "" {
				break
			}
		}
	}
	c.masker.Add(v)
	return v, nil
}

func (c *cmd) configEnv() config.Env {
	env := config.EnvFrom(c.env.Getenv)
	env.Now = c.env.Now
	// Outside Actions there is no step run to name the token after:
	// DefaultName falls back to tokenmint-cli-<timestamp> (the ledger
	// appends the call's nonce).
	if c.env.Getenv("GITHUB_ACTIONS") != "true" {
		env.RunID = ""
	}
	return env
}

func (c *cmd) load(f *flagSet, manage bool) (*config.Config, provider.Provider, error) {
	v := f.values()
	key, err := c.adminKey(f, v)
	if err != nil {
		return nil, nil, err
	}
	v["admin-key"] = key
	parse := config.Parse
	if manage {
		parse = config.ParseManage
	}
	cfg, err := parse(v, c.configEnv())
	if err != nil {
		return nil, nil, err
	}
	opts := cfg.ProviderOptions()
	opts.HTTP = c.httpClient(cfg.Timeout, cfg.Provider+" API")
	opts.Now = c.env.Now
	opts.Warnf = c.warnf
	p, err := cfg.Spec.New(opts)
	if err != nil {
		return nil, nil, err
	}
	return cfg, p, nil
}

// mintOptions tunes the ledger's create loop for a CLI call.
func (c *cmd) mintOptions(cfg *config.Config) ledger.MintOptions {
	return ledger.MintOptions{Provider: cfg.Provider, Scope: cfg.Spec.ListScope, Logf: c.logf}
}

// warnCleanup warns when the clean-up of a lost attempt could not be
// confirmed. A CLI call has no post step: the names are for the user.
func (c *cmd) warnCleanup(l *ledger.Ledger) {
	if p := l.Problem(); p != nil {
		c.warnf("%v", p)
	}
}

func (c *cmd) mint(ctx context.Context, args []string) error {
	f := c.newFlags("mint", append(append([]string{}, providerFlags...), mintFlags...), "token, json, env")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return usagef("mint takes no arguments")
	}
	format, err := f.outputFormat("token", "json", "env")
	if err != nil {
		return err
	}
	cfg, p, err := c.load(f, false)
	if err != nil {
		return err
	}
	// One nonce per call: the name is this call's alone (package ledger).
	l, err := ledger.New(ledger.Options{Prefix: cfg.Name, MaxNameLen: cfg.Spec.MaxNameLen})
	if err != nil {
		return fmt.Errorf("failed to name the token: %w", err)
	}
	tok, err := ledger.Mint(ctx, p, cfg.MintRequest(), l, c.mintOptions(cfg))
	c.warnCleanup(l)
	if err != nil {
		return fmt.Errorf("failed to mint a %s token: %w", cfg.Provider, err)
	}
	return printToken(c.env.Stdout, format, tok, cfg.Scopes)
}

// tokenView is the JSON form of a token. Secret is only set for mint.
type tokenView struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Token     string            `json:"token,omitempty"`
	Scopes    []string          `json:"scopes"`
	CreatedAt string            `json:"created_at,omitempty"`
	ExpiresAt string            `json:"expires_at,omitempty"`
	Status    string            `json:"status,omitempty"`
	Extra     map[string]string `json:"extra,omitempty"`
}

func view(t provider.Token, withSecret bool, now time.Time) tokenView {
	v := tokenView{ID: t.ID, Name: t.Name, Scopes: t.Scopes, Extra: t.Extra}
	if v.Scopes == nil {
		v.Scopes = []string{}
	}
	if withSecret {
		v.Token = t.Secret.Reveal()
	}
	if !t.CreatedAt.IsZero() {
		v.CreatedAt = t.CreatedAt.UTC().Format(time.RFC3339)
	}
	if !t.ExpiresAt.IsZero() {
		v.ExpiresAt = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	switch {
	case t.Revoked:
		v.Status = "revoked"
	case t.Expired(now):
		v.Status = "expired"
	default:
		v.Status = "active"
	}
	return v
}

func printToken(w io.Writer, format string, tok *provider.Token, requested []string) error {
	if len(tok.Scopes) == 0 {
		tok.Scopes = requested
	}
	switch format {
	case "json":
		return writeJSON(w, view(*tok, true, time.Now()))
	case "env":
		v := view(*tok, true, time.Now())
		lines := [][2]string{
			{"TOKENMINT_TOKEN", v.Token}, {"TOKENMINT_TOKEN_ID", v.ID}, {"TOKENMINT_TOKEN_NAME", v.Name},
			{"TOKENMINT_EXPIRES_AT", v.ExpiresAt}, {"TOKENMINT_SCOPES", strings.Join(v.Scopes, ",")},
		}
		bw := bufio.NewWriter(w)
		for _, l := range lines {
			fmt.Fprintf(bw, "%s=%s\n", l[0], shellQuote(l[1]))
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("failed to write the token: %w", err)
		}
		return nil
	default:
		if _, err := fmt.Fprintln(w, tok.Secret.Reveal()); err != nil {
			return fmt.Errorf("failed to write the token: %w", err)
		}
		return nil
	}
}

// shellQuote single-quotes s for POSIX shells and dotenv readers.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (c *cmd) list(ctx context.Context, args []string) error {
	f := c.newFlags("list", append([]string{"name"}, providerFlags...), "table, json")
	all := f.fs.Bool("all", false, "include revoked and expired tokens")
	if err := f.parse(args); err != nil {
		return err
	}
	format, err := f.outputFormat("table", "json")
	if err != nil {
		return err
	}
	v := f.values()
	filter := v["name"]
	cfg, p, err := c.load(f, true)
	if err != nil {
		return err
	}
	toks, err := p.List(ctx, filter)
	if err != nil {
		return fmt.Errorf("failed to list %s tokens: %w", cfg.Provider, err)
	}
	now := c.env.Now()
	var views []tokenView
	for _, t := range toks {
		if filter != "" && !strings.Contains(strings.ToLower(t.Name), strings.ToLower(filter)) {
			continue
		}
		if !*all && (t.Revoked || t.Expired(now)) {
			continue
		}
		views = append(views, view(t, false, now))
	}
	sort.SliceStable(views, func(i, j int) bool { return views[i].CreatedAt < views[j].CreatedAt })
	if format == "json" {
		if views == nil {
			views = []tokenView{}
		}
		return writeJSON(c.env.Stdout, views)
	}
	t := table.NewWriter()
	t.SetOutputMirror(c.env.Stdout)
	t.SetStyle(table.StyleLight)
	t.Style().Format.Footer = text.FormatDefault
	t.AppendHeader(table.Row{"ID", "Name", "Scopes", "Created", "Expires", "Status"})
	for _, v := range views {
		t.AppendRow(table.Row{
			redact.Neutralize(v.ID), redact.Neutralize(v.Name), redact.Neutralize(strings.Join(v.Scopes, ",")),
			v.CreatedAt, orDash(v.ExpiresAt), v.Status,
		})
	}
	t.AppendFooter(table.Row{fmt.Sprintf("%d token(s)", len(views))})
	t.Render()
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *cmd) revoke(ctx context.Context, args []string) error {
	f := c.newFlags("revoke", providerFlags, "")
	if err := f.parse(args); err != nil {
		return err
	}
	ids := f.fs.Args()
	if len(ids) == 0 {
		return usagef("revoke needs one or more token IDs")
	}
	cfg, p, err := c.load(f, true)
	if err != nil {
		return err
	}
	var failed []string
	for _, id := range ids {
		if err := p.Revoke(ctx, provider.Token{ID: id}); err != nil {
			fmt.Fprintf(c.stderr, "tokenmint: failed to revoke %s: %s\n", redact.Neutralize(id), oneLine(err))
			failed = append(failed, redact.Neutralize(id))
			continue
		}
		fmt.Fprintf(c.env.Stdout, "revoked %s\n", redact.Neutralize(id))
	}
	if len(failed) > 0 {
		return fmt.Errorf("failed to revoke %d of %d %s token(s): %s", len(failed), len(ids), cfg.Provider, strings.Join(failed, ", "))
	}
	return nil
}

func sortedNames(m map[string]Command) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("failed to write JSON: %w", err)
	}
	return nil
}
