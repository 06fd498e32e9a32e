// Package groo is the Groo provider (../shared/providers.md, "Groo"): it
// mints application API tokens (groo_…) for one application, authenticated
// with the application's client secret (HTTP Basic client-id:secret) or a
// Personal Access Token (Cookie: session=groo_pat_…).
//
// Groo publishes no REST paths for token management; the paths used here
// are tokenmint's assumption (README), overridable with the rest provider:
//
//	POST   {api-url}/v1/applications/{client-id}/tokens       {name, description, expiresAt} → 201 {token, secret}
//	GET    {api-url}/v1/applications/{client-id}/tokens       → {"tokens":[…]} or […]
//	DELETE {api-url}/v1/applications/{client-id}/tokens/{id}  → 204 or 200; 404 = gone
package groo

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// DefaultAPIURL is the base of Groo's server SDK.
const DefaultAPIURL = "https://accounts.groo.dev"

// MaxNameLen bounds token names. Groo documents no limit; 100 keeps names
// readable and matches the other services.
const MaxNameLen = 100

// PATPrefix starts every Groo Personal Access Token.
const PATPrefix = "groo_pat_"

// Spec describes the provider. Groo tokens have no scopes.
var Spec = provider.Spec{
	Name:          "groo",
	DefaultAPIURL: DefaultAPIURL,
	MaxNameLen:    MaxNameLen,
	ListScope:     "access to the application's token list",
	Check:         check,
	New:           New,
}

// IsPAT reports whether key is meant as a Personal Access Token (it starts
// with groo_pat_), well-formed or not.
func IsPAT(key string) bool { return strings.HasPrefix(key, PATPrefix) }

// ValidPAT reports whether key is groo_pat_ followed by exactly 64
// lowercase hex digits.
func ValidPAT(key string) bool {
	if !IsPAT(key) {
		return false
	}
	h := key[len(PATPrefix):]
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func check(o provider.Options, req provider.MintRequest) error {
	var errs []error
	switch {
	case o.ClientID == "":
		errs = append(errs, inputerr.New("client-id", "is required by the groo provider: set it to the Groo application's client ID"))
	case strings.ContainsAny(o.ClientID, "/?#%") || strings.TrimSpace(o.ClientID) != o.ClientID:
		errs = append(errs, inputerr.New("client-id", "must be a Groo client ID (no spaces, '/', '?', '#' or '%%')"))
	}
	if key := o.AdminKey.Reveal(); IsPAT(key) && !ValidPAT(key) {
		errs = append(errs, inputerr.New("admin-key", "starts with %q but is not a Groo Personal Access Token (%q followed by 64 lowercase hex digits); pass a valid PAT or the application's client secret", PATPrefix, PATPrefix))
	}
	if len(req.Scopes) > 0 {
		errs = append(errs, inputerr.New("scopes", "must be empty: Groo application tokens have no scopes"))
	}
	return errors.Join(errs...)
}

type client struct {
	base     string // …/v1/applications/{client-id}/tokens
	clientID string
	key      redact.Secret
	pat      bool
	http     *httpx.Client
	now      func() time.Time
}

var _ provider.Provider = (*client)(nil)

// New returns a Groo provider. It refuses a missing client ID and a
// malformed PAT (input errors) so that nothing is sent with them.
func New(o provider.Options) (provider.Provider, error) {
	if err := check(o, provider.MintRequest{}); err != nil {
		return nil, err
	}
	base := o.APIURL
	if base == "" {
		base = DefaultAPIURL
	}
	h := o.HTTP
	if h == nil {
		h = httpx.New()
	}
	return &client{
		base:     strings.TrimRight(base, "/") + "/v1/applications/" + url.PathEscape(o.ClientID) + "/tokens",
		clientID: o.ClientID,
		key:      o.AdminKey,
		pat:      IsPAT(o.AdminKey.Reveal()),
		http:     h.With(httpx.WithService("Groo API")),
		now:      o.Clock,
	}, nil
}

func (c *client) header() http.Header {
	if c.pat {
		// PATs "work the same as session cookies".
		return http.Header{"Cookie": {"session=" + c.key.Reveal()}}
	}
	cred := base64.StdEncoding.EncodeToString([]byte(c.clientID + ":" + c.key.Reveal()))
	return http.Header{"Authorization": {"Basic " + cred}}
}

type tokenJSON struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	CreatedAt   *string `json:"createdAt"`
	ExpiresAt   *string `json:"expiresAt"`
	LastUsedAt  *string `json:"lastUsedAt"`
}

func (t tokenJSON) token(now time.Time) (provider.Token, error) {
	out := provider.Token{ID: t.ID, Name: t.Name}
	if t.CreatedAt != nil && *t.CreatedAt != "" {
		if c, err := time.Parse(time.RFC3339, *t.CreatedAt); err == nil {
			out.CreatedAt = c.UTC()
		}
	}
	if t.ExpiresAt != nil && *t.ExpiresAt != "" {
		e, err := time.Parse(time.RFC3339, *t.ExpiresAt)
		if err != nil {
			return provider.Token{}, fmt.Errorf("%w: expiresAt is not an ISO 8601 date", httpx.ErrUnreadable)
		}
		out.ExpiresAt = e.UTC()
	}
	// Groo deletes revoked tokens; an expired one is no longer usable.
	out.Revoked = out.Expired(now)
	return out, nil
}

func (c *client) Mint(ctx context.Context, req provider.MintRequest) (*provider.Token, error) {
	if len(req.Scopes) > 0 {
		return nil, inputerr.New("scopes", "must be empty: Groo application tokens have no scopes")
	}
	body := map[string]any{"name": req.Name}
	if req.Description != "" {
		body["description"] = req.Description
	}
	if req.TTL > 0 {
		body["expiresAt"] = c.now().Add(req.TTL).UTC().Format(time.RFC3339)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("failed to encode request: %w", err)
	}
	resp, err := c.http.Do(ctx, &httpx.Request{Method: http.MethodPost, URL: c.base, Header: c.header(), Body: b})
	if err != nil {
		return nil, err
	}
	var out struct {
		Token  *tokenJSON `json:"token"`
		Secret string     `json:"secret"`
	}
	if err := httpx.DecodeJSON(resp, &out); err != nil {
		return nil, err
	}
	if out.Token == nil || out.Token.ID == "" || out.Secret == "" {
		return nil, fmt.Errorf("%w: the answer has no token id or secret", httpx.ErrUnreadable)
	}
	tok, err := out.Token.token(c.now())
	if err != nil {
		return nil, err
	}
	tok.Revoked = false
	tok.Secret = redact.Secret(out.Secret)
	if tok.Name == "" {
		tok.Name = req.Name
	}
	return &tok, nil
}

func (c *client) Revoke(ctx context.Context, t provider.Token) error {
	return provider.DeleteByID(ctx, c.http, c.base, t.ID, c.header())
}

// List returns the application's tokens. Groo has no name filter, so
// nameHint is unused.
func (c *client) List(ctx context.Context, _ string) ([]provider.Token, error) {
	resp, err := c.http.Do(ctx, &httpx.Request{Method: http.MethodGet, URL: c.base, Header: c.header()})
	if err != nil {
		return nil, err
	}
	var items []tokenJSON
	if trimmed := bytes.TrimSpace(resp.Body); len(trimmed) > 0 && trimmed[0] == '[' {
		err = httpx.DecodeJSON(resp, &items)
	} else {
		var wrapped struct {
			Tokens *[]tokenJSON `json:"tokens"`
		}
		err = httpx.DecodeJSON(resp, &wrapped)
		if err == nil && wrapped.Tokens == nil {
			err = fmt.Errorf("%w: the answer has no tokens array", httpx.ErrUnreadable)
		}
		if err == nil {
			items = *wrapped.Tokens
		}
	}
	if err != nil {
		return nil, err
	}
	now := c.now()
	out := make([]provider.Token, 0, len(items))
	for _, it := range items {
		tok, err := it.token(now)
		if err != nil {
			return nil, err
		}
		out = append(out, tok)
	}
	return out, nil
}
