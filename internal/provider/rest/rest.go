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
	return SpecOf(p), nil
}

// SpecOf returns Spec completed from a loaded profile (see Resolve).
func SpecOf(p *Profile) provider.Spec {
	s := Spec
	s.DefaultAPIURL = p.BaseURL
	s.MaxNameLen = p.MaxNameLength
	if len(p.Scopes) > 0 {
		s.Scopes = slices.Clone(p.Scopes)
	}
	s.ScopesRequired = p.ScopesRequired
	if p.nameField == nameNone {
		// Named in the ledger's warning when a lost create cannot be
		// looked up.
		s.ListScope = "the " + redact.Neutralize(p.Name) + " service keeps no token name: name_field none"
	}
	return s
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
	errs := append(checkOptions(p, o), checkMint(p, req)...)
	var body []string
	for _, name := range p.secrets {
		if !slices.Contains(p.authSecrets, name) {
			body = append(body, name)
		}
	}
	return errors.Join(append(errs, checkSecrets(o.Secrets, body)...)...)
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
	errs = append(errs, checkSecrets(o.Secrets, p.authSecrets)...)
	for _, name := range sortedKeys(o.Secrets) {
		if !slices.Contains(p.secrets, name) {
			declared := "declares none"
			if len(p.secrets) > 0 {
				declared = "declares " + strings.Join(p.secrets, ", ")
			}
			errs = append(errs, inputerr.New(SecretsInput, "gives %q, which the profile does not use (it %s); remove it", redact.Neutralize(name), declared))
		}
	}
	return errs
}

// SecretsInput is the input the profile's declared secrets come from.
const SecretsInput = "provider-secrets"

// checkSecrets checks the provider secrets against the profile's
// declaration. Messages name secrets, never values.
func checkSecrets(given map[string]redact.Secret, need []string) []error {
	var errs []error
	for _, name := range need {
		v, ok := given[name]
		switch {
		case !ok || v.Reveal() == "":
			errs = append(errs, inputerr.New(SecretsInput, "must give %s=… : the profile declares the secret %q", name, name))
		case strings.ContainsAny(v.Reveal(), "\r\n"):
			errs = append(errs, inputerr.New(SecretsInput, "the value of %s must be one line", name))
		}
	}
	return errs
}

// Secrets lists the secret names the profile declares.
func (p *Profile) Secrets() []string { return slices.Clone(p.secrets) }

// KeepsName reports whether the service keeps the token name tokenmint
// sends (name_field is not none), so that tokens can be found by it.
func (p *Profile) KeepsName() bool { return p.nameField != nameNone }

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
	for _, name := range sortedKeys(p.scopeValues) {
		if _, ok := p.scopeValue(name, req.Scopes); !ok {
			errs = append(errs, inputerr.New("scopes", "must be exactly one of %s (the profile's create.scope_values.%s)", p.scopeCases(name), name))
		}
	}
	if req.TTLGiven && req.TTL > 0 && p.expiry != expirySent {
		why := "gives every token a lifetime of its own (create.expiry: fixed)"
		switch p.expiry {
		case expiryNone:
			why = "does not expire its tokens (create.expiry: none)"
		case expiryUndeclared:
			why = "is sent no expiry: the profile's create.body has no {{expiry}} (declare create.expiry: fixed or none to say what the service does)"
		}
		errs = append(errs, inputerr.New("ttl", "is not sent: the %s service %s; remove ttl (the token is revoked when the job ends)", redact.Neutralize(p.Name), why))
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

// scopeValue returns the value of {{scopes:name}} for the scopes input:
// the first case whose scopes are exactly the input's, in any order.
func (p *Profile) scopeValue(name string, scopes []string) (any, bool) {
	in := slices.Clone(scopes)
	slices.Sort(in)
	in = slices.Compact(in)
	for _, c := range p.scopeValues[name] {
		if slices.Equal(c.scopes, in) {
			return c.value, true
		}
	}
	return nil, false
}

func (p *Profile) scopeCases(name string) string {
	var out []string
	for _, c := range p.scopeValues[name] {
		if len(c.scopes) == 0 {
			out = append(out, "(none)")
		} else {
			out = append(out, strings.Join(c.scopes, ","))
		}
	}
	return strings.Join(out, " | ")
}

type client struct {
	p        *Profile
	base     string
	key      redact.Secret
	secrets  map[string]redact.Secret
	clientID string
	http     *httpx.Client
	now      func() time.Time
	warn     func(string, ...any)
}

var (
	_ provider.Provider = (*client)(nil)
	_ provider.Rotator  = (*client)(nil)
	_ provider.Getter   = (*client)(nil)
	_ provider.Getter   = norotate{}
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
		p: p, base: strings.TrimRight(base, "/"), key: o.AdminKey, secrets: o.Secrets, clientID: o.ClientID,
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
func (n norotate) Get(ctx context.Context, id string) (*provider.Token, error) {
	return n.c.Get(ctx, id)
}

// withSecrets adds the declared secrets to v.
func (c *client) withSecrets(v values) values {
	for _, name := range c.p.secrets {
		v[phSecret+":"+name] = c.secrets[name].Reveal()
	}
	return v
}

func (c *client) header() http.Header {
	v := c.withSecrets(values{phAdminKey: c.key.Reveal(), phClientID: c.clientID})
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
	if err := errors.Join(append(checkMint(c.p, req), checkSecrets(c.secrets, c.p.secrets)...)...); err != nil {
		return nil, err
	}
	v := c.withSecrets(values{phName: req.Name, phClientID: c.clientID, phScopes: req.Scopes})
	for name := range c.p.scopeValues {
		v[phScopes+":"+name], _ = c.p.scopeValue(name, req.Scopes)
	}
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
	if err == nil {
		var tok *provider.Token
		if tok, err = c.decodeSecret(resp, c.p.create.success, c.p.createResp); err == nil {
			return c.finish(tok, req, start), nil
		}
	}
	if c.p.nameField == nameNone && httpx.Ambiguous(err) {
		c.lostCreate(ctx, start)
	}
	return nil, err
}

// finish completes a minted token from the request.
func (c *client) finish(tok *provider.Token, req provider.MintRequest, start time.Time) *provider.Token {
	if tok.Name == "" {
		tok.Name = req.Name
	}
	if tok.Scopes == nil && !c.p.createResp.scopes.set() {
		tok.Scopes = slices.Clone(req.Scopes)
	}
	c.warnExpiry(tok, req.TTL, start)
	return tok
}

// lostWindow is how far around a lost create a listed token's creation
// time may be to be named as a candidate (clocks differ).
const lostWindow = time.Minute

// lostCreate warns after a create whose answer was lost, for a service
// that keeps no token name: the token it may have made cannot be told from
// the account's others, so nothing is revoked; the warning says when, and
// names the listed tokens created about then as candidates to check.
func (c *client) lostCreate(ctx context.Context, start time.Time) {
	svc := redact.Neutralize(c.p.Name)
	end := c.now()
	msg := fmt.Sprintf("%s: the create sent at %s lost its answer and may have made a token; the service keeps no token name, so tokenmint cannot attribute it and leaves it alone", svc, start.UTC().Format(time.RFC3339))
	if c.p.list == nil {
		c.warn("%s. Find it among the account's tokens and revoke it there; until then only the service's own expiry bounds it", msg)
		return
	}
	where := c.p.list.method + " " + redact.Neutralize(c.p.list.path.render(values{phClientID: c.clientID}, nil))
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	all, err := c.listAll(lctx, "")
	var cand []string
	for _, t := range all {
		if !t.Revoked && !t.CreatedAt.IsZero() && !t.CreatedAt.Before(start.Add(-lostWindow)) && !t.CreatedAt.After(end.Add(lostWindow)) {
			cand = append(cand, fmt.Sprintf("%s (%s)", redact.Neutralize(t.ID), t.CreatedAt.UTC().Format("15:04:05.000Z")))
		}
	}
	switch {
	case err != nil:
		msg += ". Its token list could not be read"
	case len(cand) > 3:
		msg += fmt.Sprintf(". Tokens created about then: %s and %d more", strings.Join(cand[:3], ", "), len(cand)-3)
	case len(cand) > 0:
		msg += ". Tokens created about then: " + strings.Join(cand, ", ")
	default:
		msg += ". Its token list shows none created about then"
	}
	c.warn("%s. Check them (%s) and revoke the stray one (tokenmint revoke ID); until then only the service's own expiry bounds it", msg, where)
}

// warnExpiry says when the token may outlive the ttl.
func (c *client) warnExpiry(tok *provider.Token, ttl time.Duration, start time.Time) {
	if ttl <= 0 {
		return
	}
	svc, id := redact.Neutralize(c.p.Name), redact.Neutralize(tok.ID)
	switch {
	case c.p.expiry == expiryNone:
		c.warn("the %s service does not expire its tokens (the profile's create.expiry: none): the ttl of %s was not sent, and only revoking token %s bounds its life", svc, ttl, id)
	case !tok.ExpiresAt.IsZero() && tok.ExpiresAt.After(start.Add(ttl+time.Minute)):
		how := "later than the requested ttl of " + ttl.String()
		if c.p.expiry != expirySent {
			how += " (the service sets its own lifetime; the ttl was not sent)"
		}
		c.warn("the %s service set token %s to expire at %s, %s; until revoked it stays valid", svc, id, tok.ExpiresAt.Format(time.RFC3339), how)
	case !tok.ExpiresAt.IsZero():
	case c.p.expiry == expiryUndeclared:
		c.warn("the ttl of %s was not sent to the %s service: the profile's create.body has no {{expiry}} and it declares no create.expiry; only revoking token %s bounds its life", ttl, svc, id)
	case c.p.expiry == expiryFixed:
		c.warn("the %s service gives token %s a lifetime of its own (create.expiry: fixed), which the profile does not read: the ttl of %s was not sent, and only revoking it bounds its life", svc, id, ttl)
	case c.p.createResp.expiresAt.set():
		c.warn("the %s service set no expiry on token %s: only revoking it bounds its life", svc, id)
	}
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
		format := f.expiresAtFormat
		if format == fmtJWT {
			format = fmtRFC3339 // jwt describes where the expiry sits, not the creation time
		}
		if c, err := parseTime(v, format); err == nil {
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
	case fmtJWT:
		return jwtExpiry(s)
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

// jwtExpiry reads the exp claim of a JWT without verifying it (the service
// signed it; tokenmint only wants to know when it ends). Errors never carry
// the token.
func jwtExpiry(s string) (time.Time, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return time.Time{}, errors.New("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, errors.New("not a JWT")
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return time.Time{}, errors.New("not a JWT")
	}
	if claims.Exp == nil {
		return time.Time{}, nil // no exp: no expiry
	}
	return parseTime(*claims.Exp, fmtUnix)
}

func (c *client) Revoke(ctx context.Context, t provider.Token) error {
	if t.ID == "" {
		return fmt.Errorf("failed to revoke: %w", provider.ErrNoID)
	}
	v := values{phID: t.ID, phClientID: c.clientID}
	req := &httpx.Request{Method: c.p.revoke.method, URL: c.url(c.p.revoke.path, v), Header: c.header()}
	// First pass: every status a rule names is an answer to judge here.
	var plain []int
	for _, r := range append(slices.Clone(c.p.revokeOK), c.p.revokeGone...) {
		req.OK = append(req.OK, r.status)
		if r.ptr == nil {
			plain = append(plain, r.status)
		}
	}
	resp, err := c.http.Do(ctx, req)
	if err != nil {
		return err
	}
	if c.judgeRevoke(resp) {
		return nil
	}
	if resp.Status >= 200 && resp.Status < 300 {
		return fmt.Errorf("%w: the %s service answered %d with a body the profile's revoke rules do not accept", httpx.ErrUnreadable, redact.Neutralize(c.p.Name), resp.Status)
	}
	// A status whose body rule did not match is an ordinary failure: send
	// again with only the status-only rules, retried as usual (a revoke is
	// idempotent).
	req.OK = plain
	resp, err = c.http.Do(ctx, req)
	if err != nil {
		return err
	}
	if c.judgeRevoke(resp) {
		return nil
	}
	return fmt.Errorf("%w: the %s service answered %d to the revoke", httpx.ErrUnreadable, redact.Neutralize(c.p.Name), resp.Status)
}

// judgeRevoke reports whether a revoke answer means revoked or gone.
func (c *client) judgeRevoke(resp *httpx.Response) bool {
	if c.p.revokeOK == nil && resp.Status >= 200 && resp.Status < 300 {
		return true
	}
	var doc any
	decoded := false
	for _, r := range append(slices.Clone(c.p.revokeOK), c.p.revokeGone...) {
		if r.status != resp.Status {
			continue
		}
		if r.ptr == nil {
			return true
		}
		if !decoded {
			doc, _ = decodeDoc(resp)
			decoded = true
		}
		if got, ok := r.ptr.first(doc); ok && sameJSON(got, r.equals) {
			return true
		}
	}
	return false
}

// sameJSON compares a decoded JSON value with a profile value.
func sameJSON(got, want any) bool {
	switch g := got.(type) {
	case string:
		w, ok := want.(string)
		return ok && g == w
	case bool:
		w, ok := want.(bool)
		return ok && g == w
	case json.Number:
		switch w := want.(type) {
		case int:
			return g.String() == strconv.Itoa(w)
		case int64:
			return g.String() == strconv.FormatInt(w, 10)
		case uint64:
			return g.String() == strconv.FormatUint(w, 10)
		case float64:
			f, err := g.Float64()
			return err == nil && f == w
		}
	}
	return false
}

func (c *client) List(ctx context.Context, nameHint string) ([]provider.Token, error) {
	if c.p.list == nil {
		return nil, provider.ErrNotSupported
	}
	if c.p.nameField == nameNone {
		// Tokens without a name cannot be attributed to a step: a listing
		// must not pass for "found nothing under that name".
		return nil, fmt.Errorf("%w: the %s service keeps no token name (the profile's name_field: none), so its tokens cannot be found by name", provider.ErrNotSupported, redact.Neutralize(c.p.Name))
	}
	return c.listAll(ctx, nameHint)
}

// listAll reads the profile's listing.
func (c *client) listAll(ctx context.Context, nameHint string) ([]provider.Token, error) {
	l := c.p.list
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

// Get reads one token by ID from the profile's listing (never its
// secret); provider.ErrNotFound when the listing does not hold it. It works
// also for a service that keeps no name: an ID is unique. With a profile
// whose revoke cannot tell an unknown ID from a revoked one
// (cannot_tell_unknown), it is how to tell.
func (c *client) Get(ctx context.Context, id string) (*provider.Token, error) {
	if c.p.list == nil {
		return nil, provider.ErrNotSupported
	}
	all, err := c.listAll(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, t := range all {
		if t.ID == id {
			return &t, nil
		}
	}
	return nil, fmt.Errorf("failed to find token %s: %w", redact.Neutralize(id), provider.ErrNotFound)
}

// CannotTellUnknown reports whether the service answers a revoke of an
// unknown ID as it answers a real one (revoke.cannot_tell_unknown).
func (p *Profile) CannotTellUnknown() bool { return p.cannotTell }

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
