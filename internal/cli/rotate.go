package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/tokenmint/tokenmint/internal/clihelp"
	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/ghsecret"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
	"github.com/tokenmint/tokenmint/internal/rotate"
)

// rotate is `tokenmint rotate`: mint (or rotate natively with --token-id),
// write the token into GitHub secrets, retire the rotation's earlier
// tokens, and print a table of targets and results.
func (c *cmd) rotate(ctx context.Context, args []string) error {
	inputs := append(append(append([]string{}, providerFlags...), mintFlags...), rotateFlags...)
	inputs = append(inputs, "token-id")
	f := c.newFlags(clihelp.Page{
		Usage:   "tokenmint rotate [flags]",
		Summary: "Mint a token (or rotate one in place with --token-id), write it into GitHub secrets, then retire this rotation's earlier tokens past --previous-token-grace. Progress, one line per target, goes to stderr; the result table (or --output json) to stdout.",
		Notes:   []string{noteSecrets + " The GitHub token comes from GITHUB_TOKEN (or TOKENMINT_GITHUB_TOKEN) or --github-token-file."},
	}, inputs, []string{"table", "json"}, nil)
	f.ghFile = f.fs.String("github-token-file", "", "Read the GitHub token from this `file`, or - for stdin. Default: the environment variable GITHUB_TOKEN.")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return usagef("rotate takes no arguments")
	}
	format, err := f.outputFormat("table", "json")
	if err != nil {
		return err
	}
	ghToken, err := c.githubToken(f)
	if err != nil {
		return err
	}
	v := f.values()
	key, err := c.adminKey(f, v)
	if err != nil {
		return err
	}
	v["admin-key"], v["github-token"] = key, ghToken
	if v["secret-name"] == "" {
		return usagef("rotate needs --secret-name (or TOKENMINT_SECRET_NAME)")
	}
	cfg, err := config.Parse(v, c.configEnv())
	if err != nil {
		return err
	}
	opts := cfg.ProviderOptions()
	opts.HTTP = c.httpClient(cfg.Timeout, cfg.Provider+" API")
	opts.Now = c.env.Now
	opts.Warnf = c.warnf
	p, err := cfg.Spec.New(opts)
	if err != nil {
		return err
	}
	// Progress on stderr, one line per target as it finishes, so a long
	// rotation is never silent.
	// The targets are resolved first (key, repository IDs: "planned"),
	// then written; each pass counts on its own.
	var planned, done atomic.Int64
	total := len(cfg.Targets)
	progress := func(r ghsecret.Result) {
		counter, verb := &done, ""
		if r.Status == ghsecret.StatusPlanned {
			counter, verb = &planned, "resolved, "
		}
		n := counter.Add(1)
		line := fmt.Sprintf("tokenmint: [%d/%d] %s: %s%s", n, total, redact.Neutralize(r.Label), verb, r.Status)
		if r.Err != nil {
			line += ": " + redact.Neutralize(oneLine(r.Err))
		}
		fmt.Fprintln(c.stderr, line)
	}
	w, err := ghsecret.New(cfg.GitHubToken, cfg.GitHubAPIURL,
		ghsecret.WithHTTP(c.httpClient(cfg.Timeout, "GitHub API")),
		ghsecret.WithLogf(c.logf), ghsecret.WithProgress(progress))
	if err != nil {
		return err
	}
	rc := rotate.Config{
		Provider: p, Request: cfg.MintRequest(),
		Mint: c.mintOptions(cfg), Targets: cfg.Targets, Writer: w,
		Grace: cfg.PreviousTokenGrace, DryRun: cfg.DryRun, Now: c.env.Now, Logf: c.logf,
		OnToken: func(t *provider.Token) error { c.masker.Add(t.Secret.Reveal()); return nil },
	}
	if cfg.TokenID == "" {
		l, err := ledger.New(ledger.Options{Prefix: cfg.RotationPrefix(), Stamp: ledger.Stamp(c.env.Now()), MaxNameLen: cfg.Spec.MaxNameLen})
		if err != nil {
			return fmt.Errorf("failed to name the token: %w", err)
		}
		rc.Ledger = l
		defer c.warnCleanup(l)
	}
	var res *rotate.Result
	if cfg.TokenID != "" {
		res, err = rotate.RunNative(ctx, rc, cfg.TokenID)
	} else {
		res, err = rotate.Run(ctx, rc)
	}
	if res != nil && res.Token != nil && !res.Native && err != nil && res.Written() == 0 {
		// No secret holds the new token and a CLI call has no post step:
		// take it back now.
		if rerr := p.Revoke(context.WithoutCancel(ctx), *res.Token); rerr != nil {
			c.warnf("failed to revoke the new token %s, which no secret target holds: %v", redact.Neutralize(res.Token.ID), rerr)
		} else {
			c.logf("revoked the new token %s: no secret target holds it", redact.Neutralize(res.Token.ID))
		}
	}
	if res != nil {
		if perr := printRotation(c.env.Stdout, c.tableWriter(), format, res); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return fmt.Errorf("failed to rotate: %w", err)
	}
	return nil
}

func (c *cmd) githubToken(f *flagSet) (string, error) {
	return c.secret("--github-token-file", *f.ghFile, "TOKENMINT_GITHUB_TOKEN", "GITHUB_TOKEN")
}

func (c *cmd) logf(format string, args ...any) {
	fmt.Fprintf(c.stderr, "tokenmint: %s\n", redact.Neutralize(fmt.Sprintf(format, args...)))
}

func (c *cmd) warnf(format string, args ...any) {
	fmt.Fprintf(c.stderr, "tokenmint: warning: %s\n", redact.Neutralize(fmt.Sprintf(format, args...)))
}

// rotationView is the JSON form of a rotation's outcome (no secret).
type rotationView struct {
	Name     string       `json:"name,omitempty"`
	TokenID  string       `json:"token_id,omitempty"`
	Expires  string       `json:"expires_at,omitempty"`
	DryRun   bool         `json:"dry_run"`
	Targets  []resultView `json:"targets"`
	Previous []resultView `json:"previous_tokens"`
	Warnings []string     `json:"warnings,omitempty"`
}

type resultView struct {
	Target string `json:"target"`
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

func rotationOf(res *rotate.Result) rotationView {
	v := rotationView{Name: res.Name, DryRun: res.DryRun, Warnings: res.Warnings, Targets: []resultView{}, Previous: []resultView{}}
	if res.Token != nil {
		v.TokenID = res.Token.ID
		if !res.Token.ExpiresAt.IsZero() {
			v.Expires = res.Token.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")
		}
	}
	for _, t := range res.Targets {
		rv := resultView{Target: t.Label, Result: string(t.Status)}
		if t.Err != nil {
			rv.Error = oneLine(t.Err)
		}
		v.Targets = append(v.Targets, rv)
	}
	for _, p := range res.Previous {
		rv := resultView{Target: p.Token.ID + " (" + p.Token.Name + ")", Result: string(p.Action)}
		if p.Err != nil {
			rv.Error = oneLine(p.Err)
		}
		v.Previous = append(v.Previous, rv)
	}
	return v
}

func printRotation(w io.Writer, tw tableWriter, format string, res *rotate.Result) error {
	v := rotationOf(res)
	if format == "json" {
		return writeJSON(w, v)
	}
	title := "rotation " + redact.Neutralize(v.Name)
	if v.DryRun {
		title += " (dry run: nothing minted, written or revoked)"
	}
	var rows [][]string
	for _, r := range v.Targets {
		rows = append(rows, []string{redact.Neutralize(r.Target), r.Result, orDash(redact.Neutralize(r.Error))})
	}
	for _, r := range v.Previous {
		rows = append(rows, []string{"earlier token " + redact.Neutralize(r.Target), r.Result, orDash(redact.Neutralize(r.Error))})
	}
	for _, wn := range v.Warnings {
		rows = append(rows, []string{"earlier tokens", "warning", redact.Neutralize(wn)})
	}
	return tw.render(w, []string{"Target", "Result", "Detail"}, rows, "", title)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
