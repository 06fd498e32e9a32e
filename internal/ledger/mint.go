package ledger

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/provider"
)

// MintOptions tune the create loop.
type MintOptions struct {
	// Attempts bounds creates (first included). Default 4.
	Attempts int
	// Provider names the service in messages; Scope is what the admin key
	// needs to list tokens (provider.Spec.ListScope).
	Provider, Scope string
	// Logf reports what the loop does. May be nil.
	Logf func(format string, args ...any)
	// Backoff between attempts after an ambiguous failure (default 500ms,
	// doubled each time).
	Backoff time.Duration
	// Sleep waits (tests). Nil: a context-aware timer.
	Sleep func(context.Context, time.Duration) error
	// SweepTimeout bounds the final clean-up when ctx is already done
	// (default 10s).
	SweepTimeout time.Duration
}

func (o MintOptions) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// Mint creates a token through p under the ledger's names, leaving nothing
// of its own behind unaccounted for:
//
//   - Every attempt takes the ledger's next name, recorded (and saved)
//     before it is sent; no name is sent twice.
//   - After an ambiguous failure (timeout or reset after sending, 5xx, an
//     unreadable success body) the name stays pending and the next attempt
//     follows a back-off.
//   - A 409 on a name's only send means someone else holds that name: it is
//     marked refused, never cleaned up, and the next name is tried at once.
//   - Any other error is returned at once (the name is marked rejected).
//
// Before returning, every pending name is swept (Ledger.Sweep): what a lost
// attempt created is revoked, the token returned is spared. A clean-up that
// could not be confirmed is left in Ledger.Problem for the caller to warn
// about. The error, when every attempt failed, says how many were made.
func Mint(ctx context.Context, p provider.Provider, req provider.MintRequest, l *Ledger, o MintOptions) (*provider.Token, error) {
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	o.Attempts = min(o.Attempts, MaxAttempts)
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Sleep == nil {
		o.Sleep = httpx.Sleep
	}
	if o.SweepTimeout <= 0 {
		o.SweepTimeout = 10 * time.Second
	}
	tok, err := mintLoop(ctx, p, req, l, o)
	if len(l.Pending()) > 0 {
		sctx := ctx
		if ctx.Err() != nil {
			var cancel context.CancelFunc
			sctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), o.SweepTimeout)
			defer cancel()
		}
		res := l.Sweep(sctx, p, o.Provider, o.Scope)
		for _, t := range res.Revoked {
			o.logf("revoked token %s named %q, created by an earlier attempt of this step", t.ID, t.Name)
		}
	}
	return tok, err
}

func mintLoop(ctx context.Context, p provider.Provider, req provider.MintRequest, l *Ledger, o MintOptions) (*provider.Token, error) {
	var lastErr error
	made := 0
	for made < o.Attempts {
		name, err := l.Next()
		if err != nil {
			return nil, err
		}
		made++
		r := req
		r.Name = name
		tok, err := p.Mint(ctx, r)
		if err == nil {
			if tok.Name == "" {
				tok.Name = name
			}
			if err := l.MarkMinted(name, tok.ID); err != nil {
				// The token exists but the ledger could not say so: it
				// stays pending for the sweep and post.
				return tok, err
			}
			return tok, nil
		}
		lastErr = err
		switch {
		case httpx.StatusOf(err) == http.StatusConflict:
			if merr := l.mark(name, Refused, ""); merr != nil {
				return nil, merr
			}
			if made < o.Attempts {
				o.logf("the service refused the name %q as taken (409); that token is not this step's and is left alone; retrying as %q", name, l.Name(made+1))
			}
			continue
		case httpx.Ambiguous(err):
			if ctx.Err() != nil {
				return nil, fmt.Errorf("failed to mint after %d attempt(s): %w", made, err)
			}
			if made < o.Attempts {
				o.logf("create under %q failed (%v); it may still have been performed: it will be looked up and revoked; retrying as %q", name, err, l.Name(made+1))
				if serr := o.Sleep(ctx, o.Backoff<<(made-1)); serr != nil {
					return nil, fmt.Errorf("failed to mint after %d attempt(s): %w", made, errors.Join(err, serr))
				}
			}
			continue
		default:
			if merr := l.mark(name, Rejected, ""); merr != nil {
				return nil, errors.Join(err, merr)
			}
			return nil, err
		}
	}
	return nil, fmt.Errorf("failed to mint after %d attempt(s): %w", made, lastErr)
}
