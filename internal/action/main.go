package action

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/provider"
)

// Main runs the main phase. It reports failures itself and returns
// ErrFailed (exit 1) after doing so.
func Main(ctx context.Context, rt *Runtime) error {
	rt.init()
	// Secrets are known to the local masker before anything is printed, so
	// no line (even an error) can carry them; the runner is told below,
	// once the inputs are valid.
	vals := rt.Values()
	rt.protect(vals["admin-key"])
	rt.protect(vals["github-token"])
	env := config.EnvFrom(rt.Getenv)
	env.Now = rt.Now

	// 1. Parse and validate every input without network.
	cfg, err := config.Parse(vals, env)
	if err != nil {
		rt.reportInputErrors(err)
		return ErrFailed
	}

	// 2. Mask the admin credential and the GitHub token (each line, the PEM).
	rt.mask(cfg.AdminKey.Reveal())
	rt.mask(cfg.GitHubToken.Reveal())

	httpc := rt.httpClient(cfg.Timeout, cfg.Provider+" API")
	opts := cfg.ProviderOptions()
	opts.HTTP = httpc
	opts.Warnf = rt.warnf
	opts.Now = rt.Now
	p, err := cfg.Spec.New(opts)
	if err != nil {
		rt.reportInputErrors(err)
		return ErrFailed
	}
	if cfg.Provider == "github-app" && cfg.TTL < time.Hour {
		rt.noticef("github-app tokens last 1h; the ttl of %s is enforced by revoking the token in the post step", cfg.TTL)
	}

	if cfg.DryRun {
		return dryRun(ctx, rt, cfg)
	}

	// 3. Save the intent: enough for the post phase to find and revoke the
	// token even if this process dies right after the create is sent.
	revokeInPost := cfg.RevokeInPost()
	for k, v := range map[string]string{
		stProvider: cfg.Provider, stAPIURL: cfg.APIURL, stClientID: cfg.ClientID,
		stProviderConfig: cfg.ProviderConfig, stTimeout: cfg.Timeout.String(),
		stRevoke: fmt.Sprint(revokeInPost), stRevokeFailure: cfg.RevokeFailure,
	} {
		if err := rt.files.State(k, v); err != nil {
			rt.errorf("failed to save state: %v", err)
			return ErrFailed
		}
	}

	// 4. Mint, recording every name before it is sent.
	var names []string
	tok, err := provider.Mint(ctx, p, cfg.MintRequest(), provider.MintOptions{
		MaxNameLen: cfg.Spec.MaxNameLen,
		Backoff:    rt.Backoff,
		BeforeCreate: func(name string) error {
			names = append(names, name)
			if err := rt.files.State(stName, name); err != nil {
				return err
			}
			return rt.files.State(stNames, strings.Join(names, "\n"))
		},
		Logf: rt.infof,
	})
	if err != nil {
		rt.errorf("failed to mint a %s token: %v", cfg.Provider, err)
		return ErrFailed
	}

	// 5. Mask the token in every form before anything else is written.
	rt.mask(tok.Secret.Reveal())
	if cfg.Provider == "github-app" {
		if err := rt.files.State(stSecret, tok.Secret.Reveal()); err != nil {
			rt.errorf("failed to save state: %v", err)
			return ErrFailed
		}
	}
	expires := ""
	if !tok.ExpiresAt.IsZero() {
		expires = tok.ExpiresAt.UTC().Format(time.RFC3339)
	}
	scopes := strings.Join(tok.Scopes, ",")
	if len(tok.Scopes) == 0 {
		scopes = strings.Join(cfg.Scopes, ",")
	}
	for k, v := range map[string]string{stID: tok.ID, stExpires: expires, stName: tok.Name, stScopes: scopes} {
		if err := rt.files.State(k, v); err != nil {
			rt.errorf("failed to save state: %v", err)
			return ErrFailed
		}
	}
	rt.infof("Minted %s token %q (id %s, expires %s)", cfg.Provider, tok.Name, orNone(tok.ID), orNever(expires))

	// 6. Outputs and the exported variable.
	outputs := [][2]string{
		{"token", tok.Secret.Reveal()}, {"token-id", tok.ID}, {"token-name", tok.Name},
		{"expires-at", expires}, {"scopes", scopes},
	}
	for _, k := range sortedKeys(tok.Extra) {
		outputs = append(outputs, [2]string{k, tok.Extra[k]})
	}
	var werr []error
	for _, o := range outputs {
		if err := rt.files.Output(o[0], o[1]); err != nil {
			werr = append(werr, err)
		}
	}
	if cfg.ExportEnv != "" {
		if err := rt.files.Env(cfg.ExportEnv, tok.Secret.Reveal()); err != nil {
			werr = append(werr, err)
		}
	}
	if err := errors.Join(werr...); err != nil {
		rt.errorf("failed to hand the token to later steps: %v", err)
		writeSummary(rt, cfg, tok, expires, revokeInPost, nil)
		return ErrFailed
	}

	// 7. Rotation mode.
	var targets []targetResult
	if cfg.Rotation() {
		var err error
		targets, err = rotateSecrets(ctx, rt, cfg, p, tok)
		if err != nil {
			writeSummary(rt, cfg, tok, expires, revokeInPost, targets)
			rt.errorf("%v", err)
			return ErrFailed
		}
	}

	// 8. Job summary.
	writeSummary(rt, cfg, tok, expires, revokeInPost, targets)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func orNever(s string) string {
	if s == "" {
		return "never"
	}
	return s
}
