// Package rotate is secret rotation, provider-agnostic: mint a token under
// a timestamped name, hand it to the caller's mask hook, write it into
// every GitHub secret target, and only when every target holds it, revoke
// the tokens earlier rotations of the same prefix minted (past a grace
// period). Providers with a native rotate call (provider.Rotator) can
// rotate in place instead (RunNative): the old secret dies at once.
package rotate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/ghsecret"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// TimestampLayout is the UTC suffix of rotation names: 20261123T170000Z.
const TimestampLayout = "20060102T150405Z"

// suffixLen is len("-") + len(TimestampLayout).
const suffixLen = 1 + len(TimestampLayout)

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

// Name is the rotation name for prefix at now: <prefix>-20261123T170000Z.
func Name(prefix string, now time.Time) string {
	return prefix + "-" + now.UTC().Format(TimestampLayout)
}

// DefaultPrefix is tokenmint-<owner>-<repo>-<secret-name> for repository
// owner/repo (GITHUB_REPOSITORY), or tokenmint-<secret-name> without one.
// Case is kept as given.
func DefaultPrefix(repository, secretName string) string {
	repository = strings.Trim(strings.TrimSpace(repository), "/")
	if repository == "" {
		return "tokenmint-" + secretName
	}
	return "tokenmint-" + strings.ReplaceAll(repository, "/", "-") + "-" + secretName
}

// FitPrefix shortens prefix (provider.FitName: head kept, hash tail) so
// that prefix plus the timestamp suffix fits maxNameLen (0: no limit).
// The result is deterministic, so later rotations find the same prefix.
func FitPrefix(prefix string, maxNameLen int) string {
	if maxNameLen <= 0 {
		return prefix
	}
	room := maxNameLen - suffixLen - 3 // leave room for the mint loop's "-N" on a 409
	if room < 9 {
		room = maxNameLen - suffixLen
	}
	if room < 1 {
		return prefix
	}
	return provider.FitName(prefix, room)
}

// ParseName reports whether name is a rotation name of prefix, exactly
// <prefix>-<timestamp> or, as the mint loop renames on a 409 conflict,
// <prefix>-<timestamp>-<n>, and returns the timestamp.
func ParseName(prefix, name string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(name, prefix+"-")
	if !ok || len(rest) < len(TimestampLayout) {
		return time.Time{}, false
	}
	ts, tail := rest[:len(TimestampLayout)], rest[len(TimestampLayout):]
	if tail != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tail, "-"))
		if !strings.HasPrefix(tail, "-") || err != nil || n < 2 || n > 99 || strconv.Itoa(n) != tail[1:] {
			return time.Time{}, false
		}
	}
	t, err := time.Parse(TimestampLayout, ts)
	if err != nil || t.Format(TimestampLayout) != ts {
		return time.Time{}, false
	}
	return t, true
}

// Config is one rotation.
type Config struct {
	Provider provider.Provider
	// Request is what to mint; its Name is replaced by the rotation name.
	Request provider.MintRequest
	// Prefix is the stable name prefix (the name input, or DefaultPrefix).
	Prefix string
	// MaxNameLen is the provider's name limit (provider.Spec.MaxNameLen).
	MaxNameLen int
	// Mint tunes the create loop; BeforeCreate lets the caller record the
	// name in state before it is sent. MaxNameLen defaults to MaxNameLen.
	Mint provider.MintOptions
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
	KeptNewer    Action = "kept (newer)"        // minted by a later rotation
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
	if !native && strings.TrimSpace(c.Prefix) == "" {
		errs = append(errs, inputerr.New("name", "rotation needs a token name prefix"))
	}
	if c.Grace < 0 {
		errs = append(errs, inputerr.New("previous-token-grace", "must not be negative"))
	}
	return errors.Join(errs...)
}

// Run mints a token under the rotation name, calls OnToken, writes every
// target, and then, only if every target was written, revokes earlier
// tokens of the prefix past Grace. The Result is returned with every
// error. If a target failed the error matches ErrTargetsFailed: the new
// token is kept and nothing is revoked. If retiring failed the error
// matches ErrRetireFailed (the secrets hold the new token).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(false); err != nil {
		return nil, err
	}
	now := cfg.now().UTC()
	prefix := FitPrefix(cfg.Prefix, cfg.MaxNameLen)
	res := &Result{DryRun: cfg.DryRun, Prefix: prefix, Name: Name(prefix, now)}

	if cfg.DryRun {
		results, err := cfg.Writer.DryRun(ctx, cfg.Targets)
		res.Targets = results
		if err != nil {
			return res, fmt.Errorf("failed to plan the rotation: %w", err)
		}
		if err := retire(ctx, cfg, res, "", now, true); err != nil {
			return res, err
		}
		return res, nil
	}

	req := cfg.Request
	req.Name = res.Name
	mo := cfg.Mint
	if mo.MaxNameLen == 0 {
		mo.MaxNameLen = cfg.MaxNameLen
	}
	tok, err := provider.Mint(ctx, cfg.Provider, req, mo)
	if err != nil {
		return res, fmt.Errorf("failed to mint the rotated token: %w", err)
	}
	res.Token = tok
	res.Name = tok.Name
	if cfg.OnToken != nil {
		if err := cfg.OnToken(tok); err != nil {
			// No target holds it yet: take it back.
			if rerr := cfg.Provider.Revoke(context.WithoutCancel(ctx), *tok); rerr != nil {
				cfg.logf("failed to revoke the new token %s after the hook failed: %v", redact.Neutralize(tok.ID), rerr)
			}
			return res, fmt.Errorf("failed to prepare the new token: %w", err)
		}
	}

	results, err := cfg.Writer.Write(ctx, cfg.Targets, tok.Secret)
	res.Targets = results
	if err != nil {
		return res, fmt.Errorf("failed to write the new token to every secret target (%d of %d written; the new token %s is kept and no earlier token was revoked): %w",
			res.Written(), len(cfg.Targets), redact.Neutralize(tok.ID), err)
	}
	newest := now
	if t, ok := ParseName(prefix, tok.Name); ok {
		newest = t
	}
	return res, retire(ctx, cfg, res, tok.ID, newest, false)
}

// retire lists the prefix's tokens and revokes (or, dry, plans to revoke)
// the earlier ones past the grace period.
func retire(ctx context.Context, cfg Config, res *Result, newID string, newest time.Time, dry bool) error {
	all, err := cfg.Provider.List(ctx, res.Prefix)
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
		if t.Revoked || (newID != "" && t.ID == newID) {
			continue
		}
		ts, ok := ParseName(res.Prefix, t.Name)
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
		case ts.After(newest):
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
