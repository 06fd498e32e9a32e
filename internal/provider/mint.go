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
//     lost attempt created, then tries again.
//   - When the service refuses the name (409) it cleans up the same way and
//     retries under a suffixed name (name-2, name-3 …), announced through
//     BeforeCreate before it is sent.
//
// Any other error is returned at once.
func Mint(ctx context.Context, p Provider, req MintRequest, o MintOptions) (*Token, error) {
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	base := req.Name
	name := base
	suffix := 1
	var lastErr error
	for attempt := 1; attempt <= o.Attempts; attempt++ {
		if o.BeforeCreate != nil {
			if err := o.BeforeCreate(name); err != nil {
				return nil, err
			}
		}
		r := req
		r.Name = name
		tok, err := p.Mint(ctx, r)
		if err == nil {
			return tok, nil
		}
		lastErr = err
		conflict := httpx.StatusOf(err) == http.StatusConflict
		if !conflict && !httpx.Ambiguous(err) {
			return nil, err
		}
		if ctx.Err() != nil {
			break
		}
		// The service may hold a token under this name that we created.
		n, rerr := RevokeByName(ctx, p, name)
		switch {
		case errors.Is(rerr, ErrNotSupported):
			o.logf("create failed ambiguously (%v); this provider cannot list tokens, so a token it may have created cannot be looked up", err)
		case rerr != nil:
			o.logf("failed to look up tokens named %q after an ambiguous create: %v", name, rerr)
		case n > 0:
			o.logf("revoked %d token(s) named %q left by an earlier attempt", n, name)
		}
		if conflict {
			suffix++
			name = FitName(base+"-"+strconv.Itoa(suffix), o.MaxNameLen)
			o.logf("the service refused the name as taken (409); retrying as %q", name)
			continue
		}
		if attempt < o.Attempts {
			if err := o.Sleep(ctx, o.Backoff<<(attempt-1)); err != nil {
				break
			}
		}
	}
	// A last clean-up: an ambiguous final failure may have created a token.
	if httpx.Ambiguous(lastErr) {
		if n, err := RevokeByName(context.WithoutCancel(ctx), p, name); err == nil && n > 0 {
			o.logf("revoked %d token(s) named %q left by the failed attempt", n, name)
		}
	}
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
	toks, err := FindByName(ctx, p, name)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, t := range toks {
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

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
