package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/clihelp"
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
	return ledger.MintOptions{Provider: cfg.Provider, Scope: cfg.Spec.ListScope, Logf: c.logf, Sleep: c.env.Sleep}
}

// warnCleanup warns when the clean-up of a lost attempt could not be
// confirmed. A CLI call has no post step: the names are for the user.
func (c *cmd) warnCleanup(l *ledger.Ledger) {
	if p := l.Problem(); p != nil {
		c.warnf("%v", p)
	}
}

func (c *cmd) mint(ctx context.Context, args []string) error {
	f := c.newFlags(clihelp.Page{
		Usage:   "tokenmint mint [flags]",
		Summary: "Mint a token and print it: the token alone, or --output json|env. Nothing revokes it but its ttl or 'tokenmint revoke': to give one command a token that is revoked when the command ends, use 'tokenmint exec'.",
		Notes:   []string{noteSecrets},
	}, append(append([]string{}, providerFlags...), mintFlags...), []string{"token", "json", "env"}, nil)
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
	tok, _, err := c.mintToken(ctx, cfg, p)
	if err != nil {
		return err
	}
	return printToken(c.env.Stdout, format, tok, cfg.Scopes)
}

// mintToken is the one mint path of the CLI (mint and exec): a ledger of
// its own (one nonce per call and token), the ledger's create loop, and a
// warning naming any lost attempt whose clean-up was not confirmed.
func (c *cmd) mintToken(ctx context.Context, cfg *config.Config, p provider.Provider) (*provider.Token, *ledger.Ledger, error) {
	// One nonce per call: the name is this call's alone (package ledger).
	l, err := ledger.New(ledger.Options{Prefix: cfg.Name, MaxNameLen: cfg.Spec.MaxNameLen})
	if err != nil {
		return nil, nil, fmt.Errorf("failed to name the token: %w", err)
	}
	tok, err := ledger.Mint(ctx, p, cfg.MintRequest(), l, c.mintOptions(cfg))
	c.warnCleanup(l)
	if err != nil {
		return nil, l, fmt.Errorf("failed to mint a %s token: %w", cfg.Provider, err)
	}
	c.masker.Add(tok.Secret.Reveal())
	return tok, l, nil
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
	f := c.newFlags(clihelp.Page{
		Usage:   "tokenmint list [flags]",
		Summary: "List the tokens the admin credential can see: active ones, or every one with --all. A table (tab-separated when stdout is not a terminal), or --output json.",
		Notes:   []string{noteSecrets},
	}, append([]string{"name"}, providerFlags...), []string{"table", "json"}, map[string]string{
		"name": "Only tokens whose name contains this text (case-insensitive): a filter, not a name to create.",
	})
	all := f.fs.Bool("all", false, "Include revoked and expired tokens.")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return usagef("list takes no arguments")
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
	rows := make([][]string, 0, len(views))
	for _, v := range views {
		rows = append(rows, []string{
			redact.Neutralize(v.ID), redact.Neutralize(v.Name), redact.Neutralize(strings.Join(v.Scopes, ",")),
			orDash(v.CreatedAt), orDash(v.ExpiresAt), v.Status,
		})
	}
	tw := c.tableWriter()
	return tw.render(c.env.Stdout, []string{"ID", "Name", "Scopes", "Created", "Expires", "Status"}, rows, fmt.Sprintf("%d token(s)", len(views)))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *cmd) revoke(ctx context.Context, args []string) error {
	f := c.newFlags(clihelp.Page{
		Usage:   "tokenmint revoke [flags] ID...",
		Summary: "Revoke tokens by ID. Where the service can tell (tooken), an ID that never existed is an error and one already revoked is said so; elsewhere an unknown ID reads as already gone.",
		Notes:   []string{noteSecrets},
	}, providerFlags, nil, nil)
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
		msg, err := revokeOne(ctx, p, id)
		if err != nil {
			fmt.Fprintf(c.stderr, "tokenmint: failed to revoke %s: %s\n", redact.Neutralize(id), oneLine(err))
			failed = append(failed, redact.Neutralize(id))
			continue
		}
		fmt.Fprintf(c.env.Stdout, "%s %s\n", msg, redact.Neutralize(id))
	}
	if len(failed) > 0 {
		return fmt.Errorf("failed to revoke %d of %d %s token(s): %s", len(failed), len(ids), cfg.Provider, strings.Join(failed, ", "))
	}
	return nil
}

// ErrNeverExisted is a revoke of an ID the service says it never had.
var ErrNeverExisted = errors.New("no such token: the service never had this ID (check for a typo)")

// revokeOne revokes id and says what happened: "revoked", "already
// revoked" (a Getter saw it revoked), or "revoked (or already gone)"
// when the service cannot tell. An ID a Getter does not know is
// ErrNeverExisted and nothing is sent to revoke it.
func revokeOne(ctx context.Context, p provider.Provider, id string) (string, error) {
	done := "revoked (or already gone)"
	if g, ok := p.(provider.Getter); ok {
		t, err := g.Get(ctx, id)
		switch {
		case errors.Is(err, provider.ErrNotFound):
			return "", ErrNeverExisted
		case err == nil && t.Revoked:
			return "already revoked", nil
		case err == nil:
			done = "revoked"
		}
		// Another error (the key may not read tokens): revoke anyway.
	}
	if err := p.Revoke(ctx, provider.Token{ID: id}); err != nil {
		return "", err
	}
	return done, nil
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
