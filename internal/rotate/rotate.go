// Package rotate is secret rotation, provider-agnostic: resolve every
// GitHub secret target and its public key, mint a token under the
// ledger's timestamped name, hand it to the caller's mask hook, write it
// into every target, and only when every target holds it, revoke the
// tokens earlier rotations of the same lineage (package ledger) minted
// (past a grace period). Providers with a native rotate call (provider.Rotator) can
// rotate in place instead (RunNative): the old secret dies at once.
package rotate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/ghsecret"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Errors (match with errors.Is).
var (
	// ErrTargetsFailed: at least one secret target was not written. The
	// new token is kept and no earlier token was revoked.
	ErrTargetsFailed = ghsecret.ErrTargetsFailed
	// ErrRetireFailed: every target was written, but listing or revoking
	// earlier tokens failed (the caller decides: warn or fail).
	ErrRetireFailed = errors.New("failed to retire earlier tokens")
	// ErrNoNativeRotation: the provider has no native rotate call.
	ErrNoNativeRotation = errors.New("provider has no native rotate call")
)

// SecretWriter is what rotation needs from *ghsecret.Writer.
type SecretWriter interface {
	Write(ctx context.Context, targets []ghsecret.Target, value redact.Secret) ([]ghsecret.Result, error)
	DryRun(ctx context.Context, targets []ghsecret.Target) ([]ghsecret.Result, error)
}

var _ SecretWriter = (*ghsecret.Writer)(nil)

// Config is one rotation.
type Config struct {
	Provider provider.Provider
	// Request is what to mint; its Name is replaced by the ledger's names.
	Request provider.MintRequest
	// Ledger names the new token: a rotation ledger (ledger.Options.Stamp
	// set), whose prefix is this rotation's lineage. It records every name
	// before it is sent (the caller saves it in state).
	Ledger *ledger.Ledger
	// Mint tunes the create loop.
	Mint ledger.MintOptions
	// Targets are the secrets to write (ghsecret.BuildTargets).
	Targets []ghsecret.Target
	Writer  SecretWriter
	// Grace is previous-token-grace: earlier tokens younger than this are kept.
	Grace time.Duration
	// DryRun validates and resolves keys and repository IDs only: no
	// create, PUT or DELETE.
	DryRun bool
	// OnToken is called with the new token before anything else happens
	// with it (register masks here). An error stops the rotation.
	OnToken func(*provider.Token) error
	// OnWritten is called after the writes with how many targets hold the
	// new token, before any earlier token is retired (the caller keeps the
	// new token's revocation wanted until at least one target holds it).
	OnWritten func(written int)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Logf reports progress and warnings (may be nil).
	Logf func(format string, args ...any)
}

func (c Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// Action is what happened (or would happen) to an earlier token.
type Action string

// Actions on earlier tokens.
const (
	Revoked      Action = "revoked"
	WouldRevoke  Action = "would revoke"        // dry run
	KeptGrace    Action = "kept (within grace)" // younger than previous-token-grace
	KeptNewer    Action = "kept (not older)"    // minted in the same second or later by another rotation run
	RevokeFailed Action = "revoke failed"
)

// Previous is an earlier token of this rotation.
type Previous struct {
	Token  provider.Token // Secret is never set
	Action Action
	Err    error // with RevokeFailed
}

// Result is the outcome of a rotation, complete enough for a summary table.
type Result struct {
	DryRun bool
	Native bool
	Prefix string
	Name   string          // the rotation name (planned, in a dry run)
	Token  *provider.Token // the new token (nil in a dry run or when minting failed)
	// Targets has one result per target, in order.
	Targets []ghsecret.Result
	// Previous lists earlier tokens found by prefix and what was done.
	Previous []Previous
	// Warnings are non-fatal conditions (a provider that cannot list).
	Warnings []string
}

// Written counts targets that hold the new token.
func (r *Result) Written() int {
	n := 0
	for _, t := range r.Targets {
		if t.Status == ghsecret.StatusCreated || t.Status == ghsecret.StatusUpdated {
			n++
		}
	}
	return n
}

func (c Config) check(native bool) error {
	var errs []error
	if c.Provider == nil {
		errs = append(errs, errors.New("rotate: no provider"))
	}
	if c.Writer == nil {
		errs = append(errs, errors.New("rotate: no secret writer"))
	}
	if len(c.Targets) == 0 {
		errs = append(errs, inputerr.New(ghsecret.InputName, "rotation needs at least one secret target"))
	}
	if !native && c.Ledger == nil {
		errs = append(errs, errors.New("rotate: no ledger"))
	}
	if c.Grace < 0 {
		errs = append(errs, inputerr.New("previous-token-grace", "must not be negative"))
	}
	return errors.Join(errs...)
}

// Run resolves every target and its public key (nothing is minted when
// one cannot be resolved), mints a token under the ledger's rotation name,
// calls OnToken, writes every target, reports how many hold the token
// (OnWritten), and then, only if every target was written, revokes the
// earlier tokens of this lineage past Grace. The Result is returned with
// every error. If a target failed the error matches ErrTargetsFailed and
// nothing is revoked. If retiring failed the error matches ErrRetireFailed
// (the secrets hold the new token).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(false); err != nil {
		return nil, err
	}
	l := cfg.Ledger
	lin := ledger.NewLineage(l.Prefix())
	stamp, ok := lin.Match(l.Name(1))
	if !ok {
		return nil, errors.New("rotate: the ledger has no rotation timestamp")
	}
	res := &Result{DryRun: cfg.DryRun, Prefix: l.Prefix(), Name: l.Name(1)}

	// Resolve every target (repository IDs, public keys) before minting:
	// a token no target could take is never created.
	results, err := cfg.Writer.DryRun(ctx, cfg.Targets)
	res.Targets = results
	if err != nil {
		if cfg.DryRun {
			return res, fmt.Errorf("failed to plan the rotation: %w", err)
		}
		return res, fmt.Errorf("failed to resolve every secret target before minting (nothing was minted): %w", err)
	}
	if cfg.DryRun {
		if err := retire(ctx, cfg, lin, res, "", stamp, true); err != nil {
			return res, err
		}
		return res, nil
	}
	res.Targets = nil

	tok, err := ledger.Mint(ctx, cfg.Provider, cfg.Request, l, cfg.Mint)
	if err != nil {
		if tok != nil { // created, but its ID could not be saved
			return res, fmt.Errorf("failed to mint the rotated token (token %s was created): %w", redact.Neutralize(tok.ID), err)
		}
		return res, fmt.Errorf("failed to mint the rotated token: %w", err)
	}
	res.Token = tok
	res.Name = tok.Name
	if cfg.OnToken != nil {
		if err := cfg.OnToken(tok); err != nil {
			// No target holds it yet: take it back.
			if rerr := cfg.Provider.Revoke(context.WithoutCancel(ctx), *tok); rerr != nil {
				return res, errors.Join(fmt.Errorf("failed to prepare the new token: %w", err),
					fmt.Errorf("failed to revoke the new token %s after that; it stays live until it expires: %w", redact.Neutralize(tok.ID), rerr))
			}
			return res, fmt.Errorf("failed to prepare the new token: %w", err)
		}
	}

	results, err = cfg.Writer.Write(ctx, cfg.Targets, tok.Secret)
	res.Targets = results
	if cfg.OnWritten != nil {
		cfg.OnWritten(res.Written())
	}
	if err != nil {
		fate := "no target holds the new token " + redact.Neutralize(tok.ID) + ", so it is revoked in the post step"
		if res.Written() > 0 {
			fate = "the new token " + redact.Neutralize(tok.ID) + " is kept for the targets that hold it"
		}
		return res, fmt.Errorf("failed to write the new token to every secret target (%d of %d written; %s; no earlier token was revoked): %w",
			res.Written(), len(cfg.Targets), fate, err)
	}
	return res, retire(ctx, cfg, lin, res, tok.ID, stamp, false)
}

// retire lists the lineage's tokens and revokes (or, dry, plans to revoke)
// those strictly older than this rotation's timestamp and past the grace
// period. Tokens of the same second or later belong to rotation runs that
// may not have written their secrets yet: they are kept. This rotation's
// own names are the ledger's, not retire's.
func retire(ctx context.Context, cfg Config, lin ledger.Lineage, res *Result, newID string, stamp time.Time, dry bool) error {
	all, err := cfg.Provider.List(ctx, lin.Prefix())
	if errors.Is(err, provider.ErrNotSupported) {
		w := "this provider cannot list tokens, so earlier rotation tokens cannot be found and revoked; let them expire (ttl)"
		res.Warnings = append(res.Warnings, w)
		cfg.logf("%s", w)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: failed to list tokens: %w", ErrRetireFailed, err)
	}
	now := cfg.now().UTC()
	var errs []error
	for _, t := range all {
		if t.Revoked || (newID != "" && t.ID == newID) || cfg.Ledger.Owns(t) {
			continue
		}
		ts, ok := lin.Match(t.Name)
		if !ok {
			continue
		}
		t.Secret = ""
		created := t.CreatedAt
		if created.IsZero() {
			created = ts
		}
		p := Previous{Token: t}
		switch {
		case !ts.Before(stamp):
			p.Action = KeptNewer
		case now.Sub(created) < cfg.Grace:
			p.Action = KeptGrace
		case dry:
			p.Action = WouldRevoke
		default:
			if err := cfg.Provider.Revoke(ctx, t); err != nil {
				p.Action, p.Err = RevokeFailed, err
				errs = append(errs, fmt.Errorf("token %s: %w", redact.Neutralize(t.ID), err))
			} else {
				p.Action = Revoked
				cfg.logf("revoked the earlier token %s (%s)", redact.Neutralize(t.ID), redact.Neutralize(t.Name))
			}
		}
		res.Previous = append(res.Previous, p)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrRetireFailed, errors.Join(errs...))
	}
	return nil
}

// RunNative rotates tokenID in place through the provider's native rotate
// call (Tooken: POST /tokens/{id}/rotate), calls OnToken, and writes the
// new secret to every target. The old secret stops working at that
// moment: there is no grace, and targets that fail keep a dead token (the
// error matches ErrTargetsFailed). Nothing is revoked.
func RunNative(ctx context.Context, cfg Config, tokenID string) (*Result, error) {
	if err := cfg.check(true); err != nil {
		return nil, err
	}
	if strings.TrimSpace(tokenID) == "" {
		return nil, inputerr.New("token-id", "is required for native rotation")
	}
	rot, ok := cfg.Provider.(provider.Rotator)
	if !ok {
		return nil, fmt.Errorf("failed to rotate natively: %w", ErrNoNativeRotation)
	}
	res := &Result{DryRun: cfg.DryRun, Native: true}
	if cfg.DryRun {
		results, err := cfg.Writer.DryRun(ctx, cfg.Targets)
		res.Targets = results
		if err != nil {
			return res, fmt.Errorf("failed to plan the rotation: %w", err)
		}
		return res, nil
	}
	tok, err := rot.Rotate(ctx, tokenID)
	if err != nil {
		return res, fmt.Errorf("failed to rotate token %s: %w", redact.Neutralize(tokenID), err)
	}
	res.Token, res.Name = tok, tok.Name
	if cfg.OnToken != nil {
		if err := cfg.OnToken(tok); err != nil {
			return res, fmt.Errorf("failed to prepare the rotated token: %w", err)
		}
	}
	results, err := cfg.Writer.Write(ctx, cfg.Targets, tok.Secret)
	res.Targets = results
	if err != nil {
		return res, fmt.Errorf("failed to write the rotated token to every secret target (%d of %d written; the old secret of %s stopped working at rotation, so the failed targets hold a dead token): %w",
			res.Written(), len(cfg.Targets), redact.Neutralize(tok.ID), err)
	}
	return res, nil
}
