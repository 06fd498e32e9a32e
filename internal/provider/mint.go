package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tokenmint/tokenmint/internal/httpx"
)

// MintOptions tune the create-safely loop.
type MintOptions struct {
	// Attempts bounds creates (first included). Default 4.
	Attempts int
	// MaxNameLen fits suffixed names (0: no limit).
	MaxNameLen int
	// BeforeCreate is called with the exact name about to be sent, before
	// it is sent, so the caller can record it (action state). An error
	// stops the mint.
	BeforeCreate func(name string) error
	// Logf reports what the loop does (reconciling, renaming). May be nil.
	Logf func(format string, args ...any)
	// Backoff between attempts (default 500ms, doubled each time).
	Backoff time.Duration
	// Sleep waits (tests). Nil: a context-aware timer.
	Sleep func(context.Context, time.Duration) error
}

func (o MintOptions) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// Mint creates a token through p without leaving orphans behind:
//
//   - After an ambiguous failure (timeout or reset after sending, 5xx, an
//     unreadable success body) it looks the name up and revokes whatever a
//     lost attempt created, then tries again: under the same name when the
//     lookup found nothing, else under a suffixed name (name-2, name-3 …)
//     right away, since many services keep a revoked token's name taken and
//     would only answer 409.
//   - When the service refuses the name (409) it cleans up the same way and
//     retries under a suffixed name.
//   - When the lookup itself fails, it moves on to a suffixed name and tries
//     the clean-up of the old name again before returning (best effort), so
//     that clean-up can never hit the token it returns.
//
// Every name is announced through BeforeCreate before it is sent. Any other
// error is returned at once.
func Mint(ctx context.Context, p Provider, req MintRequest, o MintOptions) (*Token, error) {
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Sleep == nil {
		o.Sleep = httpx.Sleep
	}
	base := req.Name
	name := base
	suffix := 1
	// pending holds names an ambiguous attempt was sent under whose clean-up
	// has not been confirmed (the lookup failed or never ran).
	var pending []string
	cleanup := func(ctx context.Context, keepID string) {
		for _, n := range pending {
			revoked, err := revokeNamed(ctx, p, n, keepID)
			switch {
			case err != nil:
				o.logf("failed to revoke tokens named %q left by a failed attempt: %v", n, err)
			case revoked > 0:
				o.logf("revoked %d token(s) named %q left by a failed attempt", revoked, n)
			}
		}
		pending = nil
	}
	var lastErr error
	for attempt := 1; attempt <= o.Attempts; attempt++ {
		if o.BeforeCreate != nil {
			if err := o.BeforeCreate(name); err != nil {
				cleanup(context.WithoutCancel(ctx), "")
				return nil, err
			}
		}
		r := req
		r.Name = name
		tok, err := p.Mint(ctx, r)
		if err == nil {
			cleanup(ctx, tok.ID)
			return tok, nil
		}
		lastErr = err
		conflict := httpx.StatusOf(err) == http.StatusConflict
		ambiguous := httpx.Ambiguous(err)
		if !conflict && !ambiguous {
			cleanup(context.WithoutCancel(ctx), "")
			return nil, err
		}
		if ctx.Err() != nil {
			if ambiguous {
				pending = append(pending, name)
			}
			break
		}
		// The service may hold a token under this name that we created.
		n, rerr := revokeNamed(ctx, p, name, "")
		rename := conflict || n > 0
		switch {
		case errors.Is(rerr, ErrNotSupported):
			if ambiguous {
				o.logf("create failed ambiguously (%v); this provider cannot list tokens, so a token it may have created cannot be looked up", err)
			}
		case rerr != nil:
			o.logf("failed to look up tokens named %q after a failed create: %v", name, rerr)
			if ambiguous {
				pending = append(pending, name)
				rename = true
			}
		case n > 0:
			o.logf("revoked %d token(s) named %q left by an earlier attempt", n, name)
		}
		if rename && attempt < o.Attempts {
			suffix++
			name = FitName(base+"-"+strconv.Itoa(suffix), o.MaxNameLen)
			if conflict {
				o.logf("the service refused the name as taken (409); retrying as %q", name)
			} else {
				o.logf("retrying as %q", name)
			}
		}
		if ambiguous && attempt < o.Attempts {
			if err := o.Sleep(ctx, o.Backoff<<(attempt-1)); err != nil {
				break
			}
		}
	}
	// A last clean-up of every name whose lost token is not yet accounted for.
	cleanup(context.WithoutCancel(ctx), "")
	return nil, fmt.Errorf("failed to mint after %d attempt(s): %w", o.Attempts, lastErr)
}

// FindByName lists tokens and returns the live ones whose name is exactly name.
func FindByName(ctx context.Context, p Provider, name string) ([]Token, error) {
	all, err := p.List(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []Token
	for _, t := range all {
		if t.Name == name && !t.Revoked {
			out = append(out, t)
		}
	}
	return out, nil
}

// RevokeByName revokes every live token named exactly name and returns how
// many it revoked.
func RevokeByName(ctx context.Context, p Provider, name string) (int, error) {
	return revokeNamed(ctx, p, name, "")
}

// revokeNamed is RevokeByName sparing the token whose ID is keepID.
func revokeNamed(ctx context.Context, p Provider, name, keepID string) (int, error) {
	toks, err := FindByName(ctx, p, name)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, t := range toks {
		if keepID != "" && t.ID == keepID {
			continue
		}
		if err := p.Revoke(ctx, t); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// FitName returns name, shortened to max characters when longer: the head
// is kept and the tail replaced by "-" and 8 hex characters of the whole
// name's SHA-256, so distinct long names stay distinct and deterministic.
func FitName(name string, max int) string {
	if max <= 0 || len(name) <= max {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	h := hex.EncodeToString(sum[:])[:8]
	keep := max - len(h) - 1
	if keep < 1 {
		return h[:max]
	}
	return name[:keep] + "-" + h
}
