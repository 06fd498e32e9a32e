package action

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Main runs the main phase. It reports failures itself and returns
// ErrFailed (exit 1) after doing so.
func Main(ctx context.Context, rt *Runtime) error {
	rt.init()
	// 2 (first, so it precedes every other line, input errors included).
	// Mask every secret input, as given.
	rt.maskSecretInputs()
	vals := rt.Values()
	env := config.EnvFrom(rt.Getenv)
	env.Now = rt.Now

	// 1. Parse and validate every input without network.
	cfg, err := config.Parse(vals, env)
	if err != nil {
		rt.reportInputErrors(err)
		return ErrFailed
	}

	// 2. And as parsed (an alias resolved); forms already announced are
	// not repeated.
	rt.mask(cfg.AdminKey.Reveal())
	rt.mask(cfg.GitHubToken.Reveal())

	opts := cfg.ProviderOptions()
	opts.HTTP = rt.httpClient(cfg.Timeout, cfg.Provider+" API")
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
	var rot *rotation
	if cfg.Rotation() {
		if rot, err = newRotation(rt, cfg, p); err != nil {
			rt.reportInputErrors(err)
			return ErrFailed
		}
	}
	if cfg.DryRun {
		return dryRun(ctx, rt, cfg, rot)
	}

	// 3. Save the intent: enough for the post phase to find and revoke the
	// token even if this process dies right after the create is sent. The
	// ledger (nonce and every name, saved before it is sent) is what the
	// post phase may clean up, and all it may clean up.
	revokeInPost := cfg.RevokeInPost()
	// A rotation's new token stays wanted for revocation until at least
	// one secret target holds it (rotation.run clears it then).
	wantRevoke := revokeInPost || (rot != nil && cfg.TokenID == "" && cfg.Revoke == config.RevokeAuto)
	l, err := rt.newLedger(cfg)
	if err != nil {
		rt.errorf("%v", err)
		return ErrFailed
	}
	if err := rt.saveState(map[string]string{
		stProvider: cfg.Provider, stAPIURL: cfg.APIURL, stClientID: cfg.ClientID,
		stProviderConfig: cmp.Or(cfg.ProfileState, cfg.ProviderConfig), stAuthHeader: cfg.AuthHeader, stTimeout: cfg.Timeout.String(),
		stRevoke: fmt.Sprint(wantRevoke), stRevokeFailure: cfg.RevokeFailure, stLedger: l.Encode(),
	}); err != nil {
		rt.errorf("failed to save state: %v", err)
		return ErrFailed
	}
	mintOpts := ledger.MintOptions{
		Provider: cfg.Provider,
		Scope:    cfg.Spec.ListScope,
		Backoff:  rt.Backoff,
		Logf:     rt.infof,
	}

	// 7. Rotation mode mints inside the rotation (4–6 run in its hook).
	if rot != nil {
		return rot.run(ctx, l, mintOpts, wantRevoke)
	}

	// 4. Mint, recording every name in the ledger before it is sent.
	tok, err := ledger.Mint(ctx, p, cfg.MintRequest(), l, mintOpts)
	rt.warnCleanup(l)
	if err != nil {
		if tok != nil { // created, but its ID could not be saved
			rt.errorf("failed to mint a %s token (token %s was created): %v", cfg.Provider, redact.Neutralize(tok.ID), err)
			return ErrFailed
		}
		rt.errorf("failed to mint a %s token: %v", cfg.Provider, err)
		return ErrFailed
	}
	// 5–6. Mask, save, hand out.
	if err := rt.handOut(cfg, tok); err != nil {
		rt.errorf("%v", err)
		writeSummary(rt, cfg, tok, revokePlan(cfg, revokeInPost), nil)
		return ErrFailed
	}
	// 8. Job summary.
	writeSummary(rt, cfg, tok, revokePlan(cfg, revokeInPost), nil)
	return nil
}

// newLedger draws this step run's nonce and makes its ledger, saved in
// state (key ledger) before every name is sent. A rotation's names carry
// the UTC timestamp.
func (r *Runtime) newLedger(cfg *config.Config) (*ledger.Ledger, error) {
	o := ledger.Options{Prefix: cfg.Name, MaxNameLen: cfg.Spec.MaxNameLen}
	if cfg.Rotation() && cfg.TokenID == "" {
		o.Prefix = cfg.RotationPrefix()
		o.Stamp = ledger.Stamp(r.Now())
	}
	o.Save = func(enc string) error { return r.saveState(map[string]string{stLedger: enc}) }
	l, err := ledger.New(o)
	if err != nil {
		return nil, fmt.Errorf("failed to name the token: %w", err)
	}
	return l, nil
}

// warnCleanup warns when the ledger's clean-up of a lost attempt could not
// be confirmed: the names may be live tokens. The post phase tries again.
func (r *Runtime) warnCleanup(l *ledger.Ledger) {
	if p := l.Problem(); p != nil {
		r.warnf("%v; the post step will try again", p)
	}
}

func (r *Runtime) saveState(kv map[string]string) error {
	for _, k := range sortedKeys(kv) {
		if err := r.files.State(k, kv[k]); err != nil {
			return err
		}
	}
	return nil
}

// handOut runs steps 5 and 6 for a minted token: mask it in every form
// before anything else is written, save its ID and expiry, then set the
// outputs and the exported variable.
func (r *Runtime) handOut(cfg *config.Config, tok *provider.Token) error {
	r.mask(tok.Secret.Reveal())
	st := map[string]string{stID: tok.ID, stExpires: expiry(tok), stName: tok.Name, stScopes: scopesOf(cfg, tok)}
	if cfg.Provider == "github-app" {
		// Its revocation authenticates with the token itself.
		st[stSecret] = tok.Secret.Reveal()
	}
	if err := r.saveState(st); err != nil {
		return fmt.Errorf("failed to save state: %w", err)
	}
	r.infof("Minted %s token %q (id %s, expires %s)", cfg.Provider, tok.Name, orNone(tok.ID), orNever(expiry(tok)))

	outputs := [][2]string{
		{"token", tok.Secret.Reveal()}, {"token-id", tok.ID}, {"token-name", tok.Name},
		{"expires-at", expiry(tok)}, {"scopes", scopesOf(cfg, tok)},
	}
	for _, k := range sortedKeys(tok.Extra) {
		outputs = append(outputs, [2]string{k, tok.Extra[k]})
	}
	var errs []error
	for _, o := range outputs {
		if err := r.files.Output(o[0], o[1]); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.ExportEnv != "" {
		if err := r.files.Env(cfg.ExportEnv, tok.Secret.Reveal()); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("failed to hand the token to later steps: %w", err)
	}
	return nil
}

func expiry(tok *provider.Token) string {
	if tok.ExpiresAt.IsZero() {
		return ""
	}
	return tok.ExpiresAt.UTC().Format(time.RFC3339)
}

func scopesOf(cfg *config.Config, tok *provider.Token) string {
	if len(tok.Scopes) > 0 {
		return strings.Join(tok.Scopes, ",")
	}
	return strings.Join(cfg.Scopes, ",")
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
