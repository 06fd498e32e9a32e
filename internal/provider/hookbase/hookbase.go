// Package hookbase is the Hookbase provider (../shared/providers.md,
// "Hookbase"): API keys with read/write/delete scopes, created with both
// expiry fields the vendor's sources disagree on, read back in every
// documented response shape.
package hookbase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Scopes are Hookbase's key scopes: read and write are documented, delete
// comes from the vendor SDKs and CLI (and is needed to delete keys).
var Scopes = []string{"read", "write", "delete"}

// DefaultAPIURL is Hookbase's public API base.
const DefaultAPIURL = "https://api.hookbase.app"

// MaxNameLen bounds names we send. Hookbase documents no limit; 100 keeps
// the derived default name (shortened with a hash) well inside any sane one.
const MaxNameLen = 100

// HeaderXAPIKey is the alternative auth header (Options.HeaderName).
const HeaderXAPIKey = "X-API-Key"

// HeaderInput names the setting that chooses the auth header in input
// errors.
const HeaderInput = "auth-header"

// Spec describes the provider.
var Spec = provider.Spec{
	Name:           "hookbase",
	DefaultAPIURL:  DefaultAPIURL,
	MaxNameLen:     MaxNameLen,
	ListScope:      "the read scope",
	Scopes:         Scopes,
	ScopesRequired: true,
	Check:          check,
	New:            New,
}

func check(o provider.Options, _ provider.MintRequest) error {
	var errs []error
	if o.ClientID != "" {
		errs = append(errs, inputerr.New("client-id", "is not used by the hookbase provider; remove it"))
	}
	if _, err := authHeader(o.HeaderName); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// authHeader returns the canonical header name for o.HeaderName.
func authHeader(name string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "authorization":
		return "Authorization", nil
	case "x-api-key":
		return HeaderXAPIKey, nil
	}
	return "", inputerr.New(HeaderInput, "must be Authorization (Bearer, the default) or X-API-Key")
}

type client struct {
	base   string
	key    redact.Secret
	header string
	http   *httpx.Client
	now    func() time.Time
	warn   func(format string, args ...any)
}

var _ provider.Provider = (*client)(nil)

// New returns a Hookbase provider.
func New(o provider.Options) (provider.Provider, error) {
	h, err := authHeader(o.HeaderName)
	if err != nil {
		return nil, err
	}
	base := o.APIURL
	if base == "" {
		base = DefaultAPIURL
	}
	hc := o.HTTP
	if hc == nil {
		hc = httpx.New()
	}
	return &client{
		base: strings.TrimRight(base, "/"), key: o.AdminKey, header: h,
		http: hc.With(httpx.WithService("Hookbase API")), now: o.Clock, warn: o.Warn,
	}, nil
}

func (c *client) headers() http.Header {
	if c.header == HeaderXAPIKey {
		return http.Header{HeaderXAPIKey: {c.key.Reveal()}}
	}
	return http.Header{"Authorization": {"Bearer " + c.key.Reveal()}}
}

// keyJSON is a key object in any of the documented shapes.
type keyJSON struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Prefix     string   `json:"prefix"`
	KeyPrefix  string   `json:"keyPrefix"`
	Scopes     []string `json:"scopes"`
	CreatedAt  string   `json:"createdAt"`
	LastUsedAt *string  `json:"lastUsedAt"`
	ExpiresAt  *string  `json:"expiresAt"`
	Key        string   `json:"key"`
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func (k keyJSON) token(now time.Time) (*provider.Token, error) {
	t := &provider.Token{ID: k.ID, Name: k.Name, Scopes: k.Scopes}
	if k.CreatedAt != "" {
		if ct, err := parseTime(k.CreatedAt); err == nil {
			t.CreatedAt = ct
		}
	}
	if k.ExpiresAt != nil && *k.ExpiresAt != "" {
		e, err := parseTime(*k.ExpiresAt)
		if err != nil {
			return nil, fmt.Errorf("%w: expiresAt is not an RFC 3339 date", httpx.ErrUnreadable)
		}
		t.ExpiresAt = e
		t.Revoked = !now.Before(e)
	}
	return t, nil
}

// expiry returns the two expiry fields for ttl: seconds (rounded up) and
// whole days (rounded up).
func expiry(ttl time.Duration) (seconds, days int64) {
	seconds = int64((ttl + time.Second - 1) / time.Second)
	days = int64((ttl + 24*time.Hour - 1) / (24 * time.Hour))
	return seconds, days
}

func (c *client) Mint(ctx context.Context, req provider.MintRequest) (*provider.Token, error) {
	// Always send scopes: the server defaults to read+write.
	body := map[string]any{"name": req.Name, "scopes": req.Scopes}
	if req.Scopes == nil {
		body["scopes"] = []string{}
	}
	if req.TTL > 0 {
		// The docs read expiresInDays, the Node SDK says the server reads
		// expiresIn (seconds) and ignores expiresInDays: send both.
		body["expiresIn"], body["expiresInDays"] = expiry(req.TTL)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("failed to encode request: %w", err)
	}
	start := c.now()
	resp, err := c.http.Do(ctx, &httpx.Request{Method: http.MethodPost, URL: c.base + "/api/api-keys", Header: c.headers(), Body: b})
	if err != nil {
		if forbidden(err) {
			return nil, fmt.Errorf("failed to create API key: the admin key needs the %q scope: %w", "write", err)
		}
		return nil, err
	}
	tok, err := decodeCreate(resp, start)
	if err != nil {
		return nil, err
	}
	if req.TTL > 0 {
		switch {
		case tok.ExpiresAt.IsZero():
			c.warn("Hookbase set no expiry on API key %s (%s): only revoking it bounds its life",
				redact.Neutralize(tok.ID), redact.Neutralize(tok.Name))
		case tok.ExpiresAt.After(start.Add(req.TTL + time.Minute)):
			c.warn("Hookbase set API key %s to expire at %s, later than the requested ttl of %s (it counts whole days)",
				redact.Neutralize(tok.ID), tok.ExpiresAt.Format(time.RFC3339), req.TTL)
		}
	}
	return tok, nil
}

// decodeCreate reads the three documented create answers:
// {"apiKey":{…},"key":"whr_…"}, {"apiKey":{…,"key"}} and {"data":{…,"key"}}.
func decodeCreate(resp *httpx.Response, now time.Time) (*provider.Token, error) {
	var raw struct {
		APIKey *keyJSON `json:"apiKey"`
		Data   *keyJSON `json:"data"`
		Key    string   `json:"key"`
	}
	if err := httpx.DecodeJSON(resp, &raw); err != nil {
		return nil, err
	}
	k := raw.APIKey
	if k == nil {
		k = raw.Data
	}
	if k == nil {
		return nil, fmt.Errorf("%w: the answer has neither apiKey nor data", httpx.ErrUnreadable)
	}
	secret := raw.Key
	if secret == "" {
		secret = k.Key
	}
	if k.ID == "" || secret == "" {
		return nil, fmt.Errorf("%w: the answer has no id or key", httpx.ErrUnreadable)
	}
	tok, err := k.token(now)
	if err != nil {
		return nil, err
	}
	tok.Revoked = false
	tok.Secret = redact.Secret(secret)
	return tok, nil
}

func (c *client) Revoke(ctx context.Context, t provider.Token) error {
	err := provider.DeleteByID(ctx, c.http, c.base+"/api/api-keys", t.ID, c.headers())
	if forbidden(err) {
		return fmt.Errorf("failed to revoke API key %s: the admin key needs the %q scope to delete keys: %w", redact.Neutralize(t.ID), "delete", err)
	}
	return err
}

// List reads {"apiKeys":[…]} (docs) or {"data":[…]} (Go SDK). Hookbase has
// no name filter: nameHint is ignored.
func (c *client) List(ctx context.Context, _ string) ([]provider.Token, error) {
	resp, err := c.http.Do(ctx, &httpx.Request{Method: http.MethodGet, URL: c.base + "/api/api-keys", Header: c.headers()})
	if err != nil {
		if forbidden(err) {
			return nil, fmt.Errorf("failed to list API keys: the admin key needs the %q scope: %w", "read", err)
		}
		return nil, err
	}
	var raw struct {
		APIKeys *[]keyJSON `json:"apiKeys"`
		Data    *[]keyJSON `json:"data"`
	}
	if err := httpx.DecodeJSON(resp, &raw); err != nil {
		return nil, err
	}
	keys := raw.APIKeys
	if keys == nil {
		keys = raw.Data
	}
	if keys == nil {
		return nil, fmt.Errorf("%w: the answer has neither apiKeys nor data", httpx.ErrUnreadable)
	}
	now := c.now()
	out := make([]provider.Token, 0, len(*keys))
	for _, k := range *keys {
		t, err := k.token(now)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, nil
}

// forbidden reports a 403 that is a missing permission, not a rate limit.
func forbidden(err error) bool {
	var ae *httpx.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusForbidden && !ae.RateLimited()
}
