package action

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/ghsecret"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/rotate"
)

// rotation is rotation mode: the token goes into GitHub secrets and the
// rotation's earlier tokens are retired.
type rotation struct {
	rt  *Runtime
	cfg *config.Config
	p   provider.Provider
	w   *ghsecret.Writer
}

func newRotation(rt *Runtime, cfg *config.Config, p provider.Provider) (*rotation, error) {
	w, err := ghsecret.New(cfg.GitHubToken, cfg.GitHubAPIURL,
		ghsecret.WithHTTP(rt.httpClient(cfg.Timeout, "GitHub API")),
		ghsecret.WithLogf(rt.infof),
		ghsecret.WithProgress(func(r ghsecret.Result) { rt.infof("secret %s: %s", r.Label, r.Status) }),
	)
	if err != nil {
		return nil, err
	}
	return &rotation{rt: rt, cfg: cfg, p: p, w: w}, nil
}

func (r *rotation) config(l *ledger.Ledger, mint ledger.MintOptions, dry bool) rotate.Config {
	return rotate.Config{
		Provider: r.p, Request: r.cfg.MintRequest(), Ledger: l,
		Mint: mint, Targets: r.cfg.Targets, Writer: r.w, Grace: r.cfg.PreviousTokenGrace, DryRun: dry,
		OnToken: func(tok *provider.Token) error { return r.rt.handOut(r.cfg, tok) },
		Now:     r.rt.Now, Logf: r.rt.infof,
	}
}

func (r *rotation) exec(ctx context.Context, rc rotate.Config) (*rotate.Result, error) {
	if r.cfg.TokenID != "" {
		return rotate.RunNative(ctx, rc, r.cfg.TokenID)
	}
	return rotate.Run(ctx, rc)
}

// run mints (or rotates natively), writes every target and retires the
// earlier tokens. A failed target fails the step; a failed retirement
// follows revoke-failure. wantRevoke is the revocation saved in state: in
// auto mode it stays wanted until at least one target holds the new token,
// so a token no secret holds is revoked in the post step.
func (r *rotation) run(ctx context.Context, l *ledger.Ledger, mint ledger.MintOptions, wantRevoke bool) error {
	rc := r.config(l, mint, false)
	rc.OnWritten = func(written int) {
		if written > 0 && wantRevoke && r.cfg.Revoke == config.RevokeAuto {
			if err := r.rt.saveState(map[string]string{stRevoke: "false"}); err != nil {
				r.rt.warnf("failed to save state: %v", err)
				return
			}
			wantRevoke = false
		}
	}
	res, err := r.exec(ctx, rc)
	r.rt.warnCleanup(l)
	var tok *provider.Token
	var rows []targetResult
	if res != nil {
		tok = res.Token
		rows = rotationRows(res)
	}
	if tok != nil {
		writeSummary(r.rt, r.cfg, tok, rotationPlan(r.cfg, wantRevoke, res), rows)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rotate.ErrRetireFailed) && r.cfg.RevokeFailure != "fail":
		r.rt.warnf("%v", err)
		return nil
	default:
		r.rt.errorf("%v", err)
		return ErrFailed
	}
}

// rotationPlan is the summary's revocation cell for a rotation: "kept"
// only when a target holds the token.
func rotationPlan(cfg *config.Config, wantRevoke bool, res *rotate.Result) string {
	switch {
	case wantRevoke && cfg.Revoke == config.RevokeAuto && !res.Native:
		return "revoked in the post step: no secret target holds it"
	case wantRevoke:
		return "revoked in the post step"
	case cfg.Revoke == config.RevokeAuto && res.Written() > 0:
		return fmt.Sprintf("kept: it is stored in %d secret target(s)", res.Written())
	case cfg.Revoke == config.RevokeAuto:
		return "kept (rotated in place)"
	}
	return fmt.Sprintf("kept (revoke: %s)", cfg.Revoke)
}

// rotationRows turns a rotation result into summary rows.
func rotationRows(res *rotate.Result) []targetResult {
	var rows []targetResult
	for _, t := range res.Targets {
		detail := string(t.Status)
		if t.Err != nil {
			detail += ": " + t.Err.Error()
		}
		rows = append(rows, targetResult{Target: t.Label, Result: detail, OK: t.OK()})
	}
	for _, p := range res.Previous {
		detail := string(p.Action)
		if p.Err != nil {
			detail += ": " + p.Err.Error()
		}
		rows = append(rows, targetResult{Target: "earlier token " + p.Token.ID + " (" + p.Token.Name + ")", Result: detail, OK: p.Err == nil})
	}
	for _, w := range res.Warnings {
		rows = append(rows, targetResult{Target: "earlier tokens", Result: w, OK: true})
	}
	return rows
}

// dryRun validates, resolves what can be resolved without changing
// anything, and prints the plan. No create, PUT or DELETE is sent.
func dryRun(ctx context.Context, rt *Runtime, cfg *config.Config, rot *rotation) error {
	plan := table.NewWriter()
	plan.SetStyle(table.StyleLight)
	plan.SetTitle("tokenmint dry run: nothing is minted, written or revoked")
	plan.AppendRows([]table.Row{
		{"Provider", cfg.Provider}, {"API URL", cfg.APIURL}, {"Token name", plannedName(cfg)},
		{"Scopes", orNone(strings.Join(cfg.Scopes, ", "))}, {"TTL", cfg.TTL.String()},
		{"Revocation", revokePlan(cfg, cfg.RevokeInPost())},
	})
	if cfg.ExportEnv != "" {
		plan.AppendRow(table.Row{"Export", "env " + cfg.ExportEnv})
	}
	var rows []targetResult
	var failed error
	if rot != nil {
		l, lerr := rt.newLedger(cfg)
		if lerr != nil {
			rt.errorf("dry run: %v", lerr)
			return ErrFailed
		}
		l.SetSave(nil) // a dry run saves nothing
		res, err := rot.exec(ctx, rot.config(l, ledger.MintOptions{}, true))
		if res != nil {
			if res.Name != "" {
				plan.AppendRow(table.Row{"Rotation name", res.Name})
			}
			rows = rotationRows(res)
		}
		failed = err
	}
	rt.printLines(plan.Render())
	if len(rows) > 0 {
		tt := table.NewWriter()
		tt.SetStyle(table.StyleLight)
		tt.AppendHeader(table.Row{"Target", "Plan"})
		for _, r := range rows {
			tt.AppendRow(table.Row{r.Target, r.Result})
		}
		rt.printLines(tt.Render())
	}
	md := "### tokenmint dry run\n\nNothing was minted, written or revoked.\n\n"
	if err := rt.files.Summary(rt.masker.Mask(md)); err != nil {
		rt.warnf("failed to write the job summary: %v", err)
	}
	if failed != nil {
		rt.errorf("dry run: %v", failed)
		return ErrFailed
	}
	return nil
}

// plannedName is the layout of the name a run would send (the nonce is
// drawn only when it runs).
func plannedName(cfg *config.Config) string {
	if cfg.Rotation() && cfg.TokenID == "" {
		return cfg.RotationPrefix() + "-<UTC timestamp>-<nonce>"
	}
	return cfg.Name + "-<nonce>"
}

// printLines logs a rendered table line by line (each neutralized).
func (r *Runtime) printLines(s string) {
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		r.infof("%s", line)
	}
}

func revokePlan(cfg *config.Config, revokeInPost bool) string {
	if revokeInPost {
		return "revoked in the post step"
	}
	if cfg.Rotation() && cfg.Revoke == config.RevokeAuto {
		return "kept once a secret target holds it; revoked in the post step otherwise"
	}
	return fmt.Sprintf("kept (revoke: %s)", cfg.Revoke)
}
