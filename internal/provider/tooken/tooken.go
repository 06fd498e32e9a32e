// Package tooken is the Tooken provider (../shared/providers.md, "Tooken").
package tooken

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Scopes are Tooken's documented scopes. There is no inheritance.
var Scopes = []string{"tokens:read", "tokens:write", "tokens:revoke", "tokens:rotate", "audit:read", "webhooks:read", "webhooks:write"}

// DefaultAPIURL is Tooken's public API base.
const DefaultAPIURL = "https://api.tooken.io/v1"

// MaxNameLen is Tooken's name limit.
const MaxNameLen = 100

// perPage is the page size used to list (the documented maximum).
const perPage = 100

// maxPages bounds a listing (10,000 tokens).
const maxPages = 100

// Spec describes the provider.
var Spec = provider.Spec{
	Name:           "tooken",
	DefaultAPIURL:  DefaultAPIURL,
	MaxNameLen:     MaxNameLen,
	ListScope:      "the tokens:read scope",
	Scopes:         Scopes,
	ScopesRequired: true,
	Check:          check,
	New:            New,
}

func check(o provider.Options, _ provider.MintRequest) error {
	if o.ClientID != "" {
		return inputerr.New("client-id", "is not used by the tooken provider; remove it")
	}
	return nil
}

type client struct {
	base string
	key  redact.Secret
	http *httpx.Client
	now  func() time.Time
}

var (
	_ provider.Provider = (*client)(nil)
	_ provider.Rotator  = (*client)(nil)
	_ provider.Getter   = (*client)(nil)
)

// New returns a Tooken provider.
func New(o provider.Options) (provider.Provider, error) {
	base := o.APIURL
	if base == "" {
		base = DefaultAPIURL
	}
	h := o.HTTP
	if h == nil {
		h = httpx.New()
	}
	return &client{base: strings.TrimRight(base, "/"), key: o.AdminKey, http: h.With(httpx.WithService("Tooken API")), now: o.Clock}, nil
}

type tokenJSON struct {
	ID        string   `json:"id"`
	Token     string   `json:"token"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	Status    string   `json:"status"`
	CreatedAt string   `json:"created_at"`
	ExpiresAt *string  `json:"expires_at"`
}

func (t tokenJSON) token() (*provider.Token, error) {
	out := &provider.Token{ID: t.ID, Name: t.Name, Secret: redact.Secret(t.Token), Scopes: t.Scopes}
	if t.CreatedAt != "" {
		if c, err := time.Parse(time.RFC3339, t.CreatedAt); err == nil {
			out.CreatedAt = c
		}
	}
	if t.ExpiresAt != nil && *t.ExpiresAt != "" {
		e, err := time.Parse(time.RFC3339, *t.ExpiresAt)
		if err != nil {
			return nil, fmt.Errorf("%w: expires_at is not RFC 3339", httpx.ErrUnreadable)
		}
		out.ExpiresAt = e.UTC()
	}
	out.Revoked = t.Status == "revoked" || t.Status == "expired"
	return out, nil
}

func (c *client) header() http.Header {
	return http.Header{"Authorization": {"Bearer " + c.key.Reveal()}}
}

func (c *client) Mint(ctx context.Context, req provider.MintRequest) (*provider.Token, error) {
	body := map[string]any{"name": req.Name, "scopes": req.Scopes}
	if req.TTL > 0 {
		body["expires_at"] = c.now().Add(req.TTL).UTC().Format(time.RFC3339)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("failed to encode request: %w", err)
	}
	resp, err := c.http.Do(ctx, &httpx.Request{Method: http.MethodPost, URL: c.base + "/tokens", Header: c.header(), Body: b})
	if err != nil {
		return nil, err
	}
	return c.decodeSecret(resp)
}

func (c *client) decodeSecret(resp *httpx.Response) (*provider.Token, error) {
	var t tokenJSON
	if err := httpx.DecodeJSON(resp, &t); err != nil {
		return nil, err
	}
	if t.ID == "" || t.Token == "" {
		return nil, fmt.Errorf("%w: the answer has no id or token", httpx.ErrUnreadable)
	}
	return t.token()
}

func (c *client) Revoke(ctx context.Context, t provider.Token) error {
	return provider.DeleteByID(ctx, c.http, c.base+"/tokens", t.ID, c.header())
}

func (c *client) List(ctx context.Context, nameHint string) ([]provider.Token, error) {
	var out []provider.Token
	for page := 1; page <= maxPages; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)}}
		if nameHint != "" {
			q.Set("name", nameHint)
		}
		resp, err := c.http.Do(ctx, &httpx.Request{Method: http.MethodGet, URL: c.base + "/tokens?" + q.Encode(), Header: c.header()})
		if err != nil {
			return nil, err
		}
		var body struct {
			Data []tokenJSON `json:"data"`
			Meta struct {
				Page    int `json:"page"`
				PerPage int `json:"per_page"`
				Total   int `json:"total"`
			} `json:"meta"`
		}
		if err := httpx.DecodeJSON(resp, &body); err != nil {
			return nil, err
		}
		for _, t := range body.Data {
			tok, err := t.token()
			if err != nil {
				return nil, err
			}
			tok.Secret = ""
			out = append(out, *tok)
		}
		if len(body.Data) == 0 || len(out) >= body.Meta.Total {
			return out, nil
		}
	}
	return out, nil
}

// Get reads one token (GET /tokens/{id}); revoked and expired tokens are
// returned too, marked Revoked. An unknown ID wraps provider.ErrNotFound.
func (c *client) Get(ctx context.Context, id string) (*provider.Token, error) {
	if id == "" {
		return nil, fmt.Errorf("failed to get token: %w", provider.ErrNoID)
	}
	resp, err := c.http.Do(ctx, &httpx.Request{Method: http.MethodGet, URL: c.base + "/tokens/" + url.PathEscape(id), Header: c.header()})
	if httpx.StatusOf(err) == http.StatusNotFound {
		return nil, fmt.Errorf("failed to get token %s: %w", redact.Neutralize(id), provider.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var t tokenJSON
	if err := httpx.DecodeJSON(resp, &t); err != nil {
		return nil, err
	}
	tok, err := t.token()
	if err != nil {
		return nil, err
	}
	tok.Secret = "" // never from a read, whatever the server sends
	return tok, nil
}

// Rotate calls the native rotate endpoint: same ID, new secret; the old
// secret stops working at once.
func (c *client) Rotate(ctx context.Context, id string) (*provider.Token, error) {
	// A retried rotate is harmless: a lost answer only means the secret it
	// carried is already dead, and the next rotate issues another.
	resp, err := c.http.Do(ctx, &httpx.Request{Method: http.MethodPost, URL: c.base + "/tokens/" + url.PathEscape(id) + "/rotate", Header: c.header(), Safe: true})
	if err != nil {
		return nil, err
	}
	return c.decodeSecret(resp)
}
