// Package rest is a provider for any REST token API, driven by a profile
// (YAML or JSON) that says how to authenticate, create, revoke and
// optionally list and rotate tokens, and where the parts of a token sit in
// the answers (JSON pointers). The profile format is documented in
// docs/rest-profile.md; testdata/profiles holds profiles for Tooken and
// Hookbase.
package rest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Spec describes the provider. Its defaults depend on the profile: the
// scope list is empty but not nil (scopes are checked against the profile
// in Check) and the API URL and name limit come from the profile; Resolve
// returns the Spec with them filled in.
var Spec = provider.Spec{
	Name:   "rest",
	Scopes: []string{},
	Check:  check,
	New:    New,
}

// Resolve returns Spec completed from the profile o names: DefaultAPIURL
// (base_url), MaxNameLen (max_name_length), Scopes and ScopesRequired.
func Resolve(o provider.Options) (provider.Spec, error) {
	p, err := Load(o)
	if err != nil {
		return provider.Spec{}, err
	}
	s := Spec
	s.DefaultAPIURL = p.BaseURL
	s.MaxNameLen = p.MaxNameLength
	if len(p.Scopes) > 0 {
		s.Scopes = slices.Clone(p.Scopes)
	}
	s.ScopesRequired = p.ScopesRequired
	return s, nil
}

func check(o provider.Options, req provider.MintRequest) error {
	p, err := Load(o)
	if err != nil {
		return err
	}
	return checkRequest(p, o, req)
}

// checkRequest checks the inputs against a loaded profile.
// The name input is only a prefix here: package ledger appends the nonce
// and fits the whole to max_name_length, so its length is not checked.
func checkRequest(p *Profile, o provider.Options, req provider.MintRequest) error {
	req.Name = ""
	return errors.Join(append(checkOptions(p, o), checkMint(p, req)...)...)
}

// checkOptions checks the provider options against the profile.
func checkOptions(p *Profile, o provider.Options) []error {
	var errs []error
	if o.APIURL == "" && p.BaseURL == "" {
		errs = append(errs, inputerr.New("api-url", "is required: the profile sets no base_url"))
	}
	switch {
	case p.usesClient && o.ClientID == "":
		errs = append(errs, inputerr.New("client-id", "is required by the profile ({{client_id}})"))
	case !p.usesClient && o.ClientID != "":
		errs = append(errs, inputerr.New("client-id", "is not used by the profile (no {{client_id}}); remove it"))
	case p.usesClient && strings.ContainsAny(o.ClientID, "\r\n"):
		errs = append(errs, inputerr.New("client-id", "must not contain line breaks"))
	}
	if strings.ContainsAny(o.AdminKey.Reveal(), "\r\n") {
		errs = append(errs, inputerr.New("admin-key", "must be one line: it is sent in an HTTP header"))
	}
	return errs
}

// checkMint checks what to mint against the profile.
func checkMint(p *Profile, req provider.MintRequest) []error {
	var errs []error
	switch {
	case len(req.Scopes) > 0 && !p.bodyScopes:
		errs = append(errs, inputerr.New("scopes", "must be empty: the profile's create.body has no {{scopes}}"))
	case p.ScopesRequired && len(req.Scopes) == 0:
		errs = append(errs, inputerr.New("scopes", "is required by the profile"))
	case len(p.Scopes) > 0:
		for _, s := range req.Scopes {
			if !slices.Contains(p.Scopes, s) {
				errs = append(errs, inputerr.New("scopes", "each scope must be one of %s", strings.Join(p.Scopes, ", ")))
				break
			}
		}
	}
	if req.Description != "" && !p.bodyHasDesc {
		errs = append(errs, inputerr.New("description", "is not sent: the profile's create.body has no {{description}}; remove it"))
	}
	if p.MaxNameLength > 0 && len(req.Name) > p.MaxNameLength {
		errs = append(errs, inputerr.New("name", "must be at most %d characters (the profile's max_name_length)", p.MaxNameLength))
	}
	if err := checkTTLGranularity(p, req.TTL); err != nil {
		errs = append(errs, err)
	}
	return errs
}

type client struct {
	p        *Profile
	base     string
	key      redact.Secret
	clientID string
	http     *httpx.Client
	now      func() time.Time
	warn     func(string, ...any)
}

var (
	_ provider.Provider = (*client)(nil)
	_ provider.Rotator  = (*client)(nil)
)

// New loads the profile and returns the provider. With a profile that has
// a rotate section the provider is also a provider.Rotator.
func New(o provider.Options) (provider.Provider, error) {
	p, err := Load(o)
	if err != nil {
		return nil, err
	}
	return NewFromProfile(p, o)
}

// NewFromProfile returns the provider for an already loaded profile.
func NewFromProfile(p *Profile, o provider.Options) (provider.Provider, error) {
	if err := errors.Join(checkOptions(p, o)...); err != nil {
		return nil, err
	}
	base := o.APIURL
	if base == "" {
		base = p.BaseURL
	}
	h := o.HTTP
	if h == nil {
		h = httpx.New()
	}
	c := &client{
		p: p, base: strings.TrimRight(base, "/"), key: o.AdminKey, clientID: o.ClientID,
		http: h.With(httpx.WithService(redact.Neutralize(p.Name) + " API")),
		now:  o.Clock, warn: o.Warn,
	}
	if p.rotate == nil {
		return norotate{c}, nil
	}
	return c, nil
}

// norotate hides Rotate for profiles without a rotate section, so that a
// type assertion to provider.Rotator tells the truth.
type norotate struct{ c *client }

func (n norotate) Mint(ctx context.Context, req provider.MintRequest) (*provider.Token, error) {
	return n.c.Mint(ctx, req)
}
func (n norotate) Revoke(ctx context.Context, t provider.Token) error { return n.c.Revoke(ctx, t) }
func (n norotate) List(ctx context.Context, hint string) ([]provider.Token, error) {
	return n.c.List(ctx, hint)
}

func (c *client) header() http.Header {
	v := values{phAdminKey: c.key.Reveal(), phClientID: c.clientID}
	h := http.Header{}
	for k, t := range c.p.headers {
		h.Set(k, t.render(v, nil))
	}
	if c.p.basic {
		cred := c.p.basicUser.render(v, nil) + ":" + c.p.basicPass.render(v, nil)
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
	} else {
		h.Set(c.p.authHeader, c.p.authValue.render(v, nil))
	}
	return h
}

func (c *client) url(path tmpl, v values) string {
	return c.base + path.render(v, url.PathEscape)
}

// expiry returns the value of {{expiry:format}} for ttl from now.
func expiry(format string, now time.Time, ttl time.Duration) any {
	switch format {
	case fmtUnix:
		return now.Add(ttl).Unix()
	case fmtSeconds:
		return int64(math.Ceil(ttl.Seconds()))
	case fmtDays:
		return int64((ttl + 24*time.Hour - 1) / (24 * time.Hour))
	default:
		return now.Add(ttl).UTC().Format(time.RFC3339)
	}
}

func (c *client) Mint(ctx context.Context, req provider.MintRequest) (*provider.Token, error) {
	// Names arrive fitted to the profile's limit (package ledger); a longer
	// one is refused by checkMint before anything is sent.
	if err := errors.Join(checkMint(c.p, req)...); err != nil {
		return nil, err
	}
	v := values{phName: req.Name, phClientID: c.clientID, phScopes: req.Scopes}
	if req.Description != "" {
		v[phDescription] = req.Description
	}
	start := c.now()
	if req.TTL > 0 {
		now := start
		v[phExpiry] = expiry(c.p.expiryFmt, now, req.TTL)
		for _, f := range requestExpiryFormats {
			v[phExpiry+":"+f] = expiry(f, now, req.TTL)
		}
	}
	hr := &httpx.Request{Method: c.p.create.method, URL: c.url(c.p.create.path, v), Header: c.header(), OK: c.p.create.success}
	if c.p.body != nil {
		b, err := json.Marshal(fill(c.p.body, v))
		if err != nil {
			return nil, fmt.Errorf("failed to encode request: %w", err)
		}
		hr.Body = b
	}
	resp, err := c.http.Do(ctx, hr)
	if err != nil {
		return nil, err
	}
	tok, err := c.decodeSecret(resp, c.p.create.success, c.p.createResp)
	if err != nil {
		return nil, err
	}
	if tok.Name == "" {
		tok.Name = req.Name
	}
	if tok.Scopes == nil && !c.p.createResp.scopes.set() {
		tok.Scopes = slices.Clone(req.Scopes)
	}
	if req.TTL > 0 && c.p.createResp.expiresAt.set() {
		switch {
		case tok.ExpiresAt.IsZero():
			c.warn("the %s service set no expiry on token %s: only the post-step revocation bounds its life", redact.Neutralize(c.p.Name), redact.Neutralize(tok.ID))
		case tok.ExpiresAt.After(start.Add(req.TTL + time.Minute)):
			c.warn("the %s service set token %s to expire at %s, later than the requested ttl of %s", redact.Neutralize(c.p.Name), redact.Neutralize(tok.ID), tok.ExpiresAt.Format(time.RFC3339), req.TTL)
		}
	}
	return tok, nil
}

// decodeSecret reads a create or rotate answer.
func (c *client) decodeSecret(resp *httpx.Response, success []int, f fields) (*provider.Token, error) {
	if len(success) > 0 && !slices.Contains(success, resp.Status) {
		return nil, fmt.Errorf("%w: unexpected status %d (the profile expects %v)", httpx.ErrUnreadable, resp.Status, success)
	}
	doc, err := decodeDoc(resp)
	if err != nil {
		return nil, err
	}
	tok, err := f.token(doc, true)
	if err != nil {
		return nil, err
	}
	return tok, nil
}

func decodeDoc(resp *httpx.Response) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %d bytes of invalid JSON", httpx.ErrUnreadable, len(resp.Body))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: more than one JSON value", httpx.ErrUnreadable)
	}
	return doc, nil
}

// token extracts a token from doc as f says.
func (f fields) token(doc any, withSecret bool) (*provider.Token, error) {
	t := &provider.Token{}
	id, ok := f.id.first(doc)
	if !ok {
		return nil, fmt.Errorf("%w: no token ID at %s", httpx.ErrUnreadable, f.id)
	}
	switch x := id.(type) {
	case string:
		t.ID = x
	case json.Number:
		t.ID = x.String()
	default:
		return nil, fmt.Errorf("%w: the token ID at %s is not a string or number", httpx.ErrUnreadable, f.id)
	}
	if t.ID == "" {
		return nil, fmt.Errorf("%w: empty token ID at %s", httpx.ErrUnreadable, f.id)
	}
	if withSecret {
		s, ok := f.secret.first(doc)
		str, isStr := s.(string)
		if !ok || !isStr || str == "" {
			return nil, fmt.Errorf("%w: no secret string at %s", httpx.ErrUnreadable, f.secret)
		}
		t.Secret = redact.Secret(str)
	}
	if v, ok := f.name.first(doc); ok {
		if s, isStr := v.(string); isStr {
			t.Name = s
		}
	}
	if v, ok := f.scopes.first(doc); ok {
		switch x := v.(type) {
		case []any:
			t.Scopes = []string{}
			for _, e := range x {
				if s, isStr := e.(string); isStr {
					t.Scopes = append(t.Scopes, s)
				}
			}
		case string:
			t.Scopes = strings.FieldsFunc(x, func(r rune) bool { return r == ',' || r == ' ' })
		}
	}
	if v, ok := f.expiresAt.first(doc); ok {
		e, err := parseTime(v, f.expiresAtFormat)
		if err != nil {
			return nil, fmt.Errorf("%w: the expiry at %s is not %s", httpx.ErrUnreadable, f.expiresAt, f.expiresAtFormat)
		}
		t.ExpiresAt = e
	}
	if v, ok := f.createdAt.first(doc); ok {
		if c, err := parseTime(v, f.expiresAtFormat); err == nil {
			t.CreatedAt = c
		}
	}
	return t, nil
}

// parseTime reads a timestamp: RFC 3339 text, or Unix seconds/milliseconds
// as a number or a numeric string.
func parseTime(v any, format string) (time.Time, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	default:
		return time.Time{}, errors.New("not a timestamp")
	}
	switch format {
	case fmtUnix, fmtUnixMS:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e15 {
			return time.Time{}, errors.New("not a number")
		}
		if format == fmtUnixMS {
			return time.UnixMilli(int64(f)).UTC(), nil
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	default:
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, err
		}
		return t.UTC(), nil
	}
}

func (c *client) Revoke(ctx context.Context, t provider.Token) error {
	if t.ID == "" {
		return fmt.Errorf("failed to revoke: %w", provider.ErrNoID)
	}
	v := values{phID: t.ID, phClientID: c.clientID}
	ok := append(slices.Clone(c.p.gone), c.p.revoke.success...)
	_, err := c.http.Do(ctx, &httpx.Request{Method: c.p.revoke.method, URL: c.url(c.p.revoke.path, v), Header: c.header(), OK: ok})
	return err
}

func (c *client) List(ctx context.Context, nameHint string) ([]provider.Token, error) {
	l := c.p.list
	if l == nil {
		return nil, provider.ErrNotSupported
	}
	v := values{phName: nameHint, phClientID: c.clientID}
	q := url.Values{}
	for k, t := range l.query {
		s := t.render(v, nil)
		if s == "" && t.hasPlaceholder() {
			continue // {{name}} without a hint
		}
		q.Set(k, s)
	}
	var out []provider.Token
	now := c.now()
	pages := 1
	if l.paging {
		pages = l.maxPages
	}
	for i := 0; i < pages; i++ {
		if l.paging {
			q.Set(l.pageParam, strconv.Itoa(l.firstPage+i))
			if l.perPageParam != "" {
				q.Set(l.perPageParam, strconv.Itoa(l.perPage))
			}
		}
		u := c.url(l.path, v)
		if len(q) > 0 {
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			u += sep + q.Encode()
		}
		resp, err := c.http.Do(ctx, &httpx.Request{Method: l.method, URL: u, Header: c.header(), OK: l.success})
		if err != nil {
			return nil, err
		}
		doc, err := decodeDoc(resp)
		if err != nil {
			return nil, err
		}
		raw, ok := l.items.first(doc)
		items, isList := raw.([]any)
		if !ok || !isList {
			return nil, fmt.Errorf("%w: no list of tokens at %s", httpx.ErrUnreadable, l.items)
		}
		for _, it := range items {
			tok, err := l.item.token(it, false)
			if err != nil {
				return nil, err
			}
			if s, ok := l.item.status.first(it); ok {
				if str, isStr := s.(string); isStr && slices.Contains(l.revokedValues, str) {
					tok.Revoked = true
				}
			}
			if tok.Expired(now) {
				tok.Revoked = true
			}
			out = append(out, *tok)
		}
		if !l.paging || len(items) < l.perPage {
			break
		}
	}
	return out, nil
}

// Rotate calls the profile's rotate endpoint: same ID, new secret.
func (c *client) Rotate(ctx context.Context, id string) (*provider.Token, error) {
	r := c.p.rotate
	if r == nil {
		return nil, provider.ErrNotSupported
	}
	v := values{phID: id, phClientID: c.clientID}
	// As with Tooken's native rotate, a retry after a lost answer only
	// issues another secret for the same token.
	resp, err := c.http.Do(ctx, &httpx.Request{Method: r.method, URL: c.url(r.path, v), Header: c.header(), OK: r.success, Safe: true})
	if err != nil {
		return nil, err
	}
	return c.decodeSecret(resp, r.success, c.p.rotateResp)
}
