// Package githubapp is the github-app provider: GitHub App installation
// access tokens, as actions/create-github-app-token mints them
// (../shared/providers.md, "GitHub").
//
// The admin credential is the App's private key; every App call carries a
// short RS256 JWT (iss = client ID or app ID, iat 60 s in the past, exp 9
// minutes ahead). Mint finds the installation for MintRequest.Owner (and the
// first of MintRequest.Repositories when set) and creates a token narrowed
// to those repositories and MintRequest.Permissions. Installation tokens
// have no name, no ID and cannot be listed: Revoke authenticates with the
// token itself (Token.Secret), so the post phase needs the token in state.
package githubapp

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Name is the provider's input name.
const Name = "github-app"

// DefaultAPIURL is github.com's REST API. The caller passes GITHUB_API_URL
// (or the api-url / github-api-url input) as Options.APIURL when set.
const DefaultAPIURL = "https://api.github.com"

// TokenLifetime is how long GitHub installation tokens live; ttl cannot
// extend it.
const TokenLifetime = time.Hour

// JWT timing: iat is backdated against clock skew; exp stays inside
// GitHub's 10-minute limit.
const (
	jwtBackdate = 60 * time.Second
	jwtLifetime = 9 * time.Minute
)

// Output names of Token.Extra.
const (
	ExtraInstallationID = "installation-id"
	ExtraAppSlug        = "app-slug"
)

// ErrNotInstalled is in the chain of a Mint error when the App has no
// installation for the owner (or cannot see the repository).
var ErrNotInstalled = errors.New("the GitHub App is not installed there")

// Spec describes the provider.
var Spec = provider.Spec{
	Name:          Name,
	DefaultAPIURL: DefaultAPIURL,
	MaxTTL:        TokenLifetime,
	Check:         check,
	New:           New,
}

var (
	appIDRE    = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)
	clientIDRE = regexp.MustCompile(`^Iv[0-9A-Za-z][0-9A-Za-z._-]{3,62}$`)
)

// CheckClientID validates the client-id input: a GitHub App client ID
// (Iv1.… or Iv23…) or a numeric app ID.
func CheckClientID(id string) error {
	switch {
	case id == "":
		return inputerr.New("client-id", "is required for github-app: the App's client ID (Iv1.… or Iv23…) or its numeric app ID (also accepted as app-id)")
	case appIDRE.MatchString(id), clientIDRE.MatchString(id):
		return nil
	default:
		return inputerr.New("client-id", "must be a GitHub App client ID (starting Iv, for example Iv23li…) or a numeric app ID")
	}
}

func check(o provider.Options, req provider.MintRequest) error {
	var errs []error
	if err := CheckClientID(o.ClientID); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParsePrivateKey(o.AdminKey.Reveal()); err != nil {
		errs = append(errs, err)
	}
	if err := ValidatePermissionsFor(o.APIURL, req.Permissions); err != nil {
		errs = append(errs, err)
	}
	if len(req.Scopes) > 0 {
		errs = append(errs, inputerr.New("scopes", "is not used by github-app: narrow the token with permissions (for example contents:read) instead"))
	}
	if req.Owner != "" && !ownerRE.MatchString(req.Owner) {
		errs = append(errs, inputerr.New("owner", "must be a GitHub user or organization login (letters, digits, '-')"))
	} else if len(req.Repositories) > 0 {
		owner := req.Owner
		if owner == "" {
			owner = commonOwner(req.Repositories)
		}
		if _, err := NormalizeRepositories(owner, req.Repositories); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type client struct {
	base     string
	clientID string
	warnf    func(format string, args ...any)
	key      *rsa.PrivateKey
	http     *httpx.Client
	now      func() time.Time
	// offset is GitHub's clock minus ours (a time.Duration), learnt from
	// the Date header of a 401 that refused the JWT's time window; every
	// later JWT is dated by it.
	offset atomic.Int64
}

// LookupAttempts bounds the attempts of one installation lookup
// (create-github-app-token: 4, with p-retry's backoff).
const LookupAttempts = 4

// LookupError is an installation lookup that failed for another reason
// than "not installed" (5xx, network, 401/403). A lookup creates nothing,
// so the error is deliberately not ambiguous: it does not unwrap to the
// HTTP error (a caller that retries ambiguous creates, provider.Mint,
// must not retry a failed GET as a create that may have happened). Err is
// the HTTP error.
type LookupError struct {
	Where string // "repository o/r" or "account o"
	Err   error
}

func (e *LookupError) Error() string {
	return fmt.Sprintf("failed to find the GitHub App installation for %s (the lookup GET created nothing; no token exists): %v%s", e.Where, e.Err, authHint(e.Err))
}

var _ provider.Provider = (*client)(nil)

// New returns a github-app provider. It parses the private key (an
// *inputerr.Error on admin-key or client-id when they are unusable) and
// sends nothing.
func New(o provider.Options) (provider.Provider, error) {
	if err := CheckClientID(o.ClientID); err != nil {
		return nil, err
	}
	key, err := ParsePrivateKey(o.AdminKey.Reveal())
	if err != nil {
		return nil, err
	}
	raw := strings.TrimSpace(o.APIURL)
	if raw == "" {
		raw = DefaultAPIURL
	}
	u, err := httpx.GitHubAPIBase(raw)
	if err != nil {
		return nil, inputerr.New("api-url", "%s (such as https://api.github.com or https://ghes.example.com/api/v3)", err)
	}
	base := u.String()
	h := o.HTTP
	if h == nil {
		h = httpx.New()
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &client{base: base, clientID: o.ClientID, key: key, http: h.With(httpx.WithService("GitHub API")), now: now, warnf: o.Warnf}, nil
}

// JWT returns a signed App JWT for the given time (exported for tests of
// callers and the fake).
func JWT(key *rsa.PrivateKey, issuer string, now time.Time) (string, error) {
	claims := jwt.RegisteredClaims{
		Issuer:    issuer,
		IssuedAt:  jwt.NewNumericDate(now.Add(-jwtBackdate)),
		ExpiresAt: jwt.NewNumericDate(now.Add(jwtLifetime)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("failed to sign the App JWT: %w", err)
	}
	return s, nil
}

func githubHeader(auth string) http.Header {
	return http.Header{
		"Authorization":        {auth},
		"Accept":               {"application/vnd.github+json"},
		"X-Github-Api-Version": {"2022-11-28"},
	}
}

func (c *client) appHeader() (http.Header, error) {
	tok, err := JWT(c.key, c.clientID, c.now().Add(time.Duration(c.offset.Load())))
	if err != nil {
		return nil, err
	}
	return githubHeader("Bearer " + tok), nil
}

// appDo sends an App-JWT request with hc. When GitHub refuses the JWT's
// time window (a 401 about its iat or exp claim: the runner's clock is
// off), it takes the offset from GitHub's Date header, keeps it for the
// following requests and retries once with a JWT dated by GitHub's clock.
func (c *client) appDo(ctx context.Context, hc *httpx.Client, method, url string, body []byte) (*httpx.Response, error) {
	h, err := c.appHeader()
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(ctx, &httpx.Request{Method: method, URL: url, Header: h, Body: body})
	if err == nil || !c.learnOffset(err) {
		return resp, err
	}
	if h, err = c.appHeader(); err != nil {
		return nil, err
	}
	return hc.Do(ctx, &httpx.Request{Method: method, URL: url, Header: h, Body: body})
}

// learnOffset reports whether err is GitHub refusing the JWT's time window
// with a Date header that moves our clock; it then keeps the new offset.
// GitHub signals skew only in the message text ("'Issued at' claim
// ('iat') must be …", "'Expiration time' claim ('exp') …"), which is what
// is matched, as @octokit/auth-app does.
func (c *client) learnOffset(err error) bool {
	var ae *httpx.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || ae.Date.IsZero() {
		return false
	}
	if !strings.Contains(ae.Message, "('iat')") && !strings.Contains(ae.Message, "('exp')") {
		return false
	}
	offset := ae.Date.Sub(c.now())
	old := time.Duration(c.offset.Load())
	if d := offset - old; d > -2*time.Second && d < 2*time.Second {
		return false // our JWT was already dated by GitHub's clock
	}
	c.offset.Store(int64(offset))
	return true
}

// url joins the base (which may carry a path, as GHES's /api/v3 does) and
// escaped path segments.
func (c *client) url(segments ...string) string {
	var b strings.Builder
	b.WriteString(c.base)
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

type installationJSON struct {
	ID      int64  `json:"id"`
	AppSlug string `json:"app_slug"`
	Account struct {
		Login string `json:"login"`
	} `json:"account"`
}

// installation finds the App's installation for owner: by repository when
// one is given, else the organization's, falling back to the user's.
func (c *client) installation(ctx context.Context, owner string, repos []string) (*installationJSON, error) {
	var paths [][]string
	var where string
	if len(repos) > 0 {
		paths = [][]string{{"repos", owner, repos[0], "installation"}}
		where = fmt.Sprintf("repository %s/%s", owner, repos[0])
	} else {
		paths = [][]string{{"orgs", owner, "installation"}, {"users", owner, "installation"}}
		where = fmt.Sprintf("account %s", owner)
	}
	lookup := c.http.With(httpx.WithMaxAttempts(min(LookupAttempts, c.http.MaxAttempts())))
	var lastErr error
	for _, p := range paths {
		resp, err := c.appDo(ctx, lookup, http.MethodGet, c.url(p...), nil)
		if err != nil {
			lastErr = err
			if httpx.StatusOf(err) == http.StatusNotFound {
				continue
			}
			return nil, &LookupError{Where: where, Err: err}
		}
		var inst installationJSON
		if err := httpx.DecodeJSON(resp, &inst); err != nil {
			return nil, fmt.Errorf("failed to read the installation of %s: %w", where, err)
		}
		if inst.ID <= 0 {
			return nil, fmt.Errorf("failed to read the installation of %s: %w: no installation id", where, httpx.ErrUnreadable)
		}
		return &inst, nil
	}
	return nil, fmt.Errorf("failed to find the GitHub App installation for %s: %w: install the App on %s (with access to the repositories asked for), or set owner/repositories to where it is installed (%w)", where, ErrNotInstalled, owner, lastErr)
}

func authHint(err error) string {
	switch httpx.StatusOf(err) {
	case http.StatusUnauthorized:
		return " (GitHub refused the App JWT: check that client-id and admin-key belong to the same App, and the runner's clock)"
	case http.StatusForbidden:
		return " (the App may be suspended, or an IP allow list blocks this runner)"
	}
	return ""
}

type accessTokenJSON struct {
	Token        string            `json:"token"`
	ExpiresAt    string            `json:"expires_at"`
	Permissions  map[string]string `json:"permissions"`
	Repositories []struct {
		Name string `json:"name"`
	} `json:"repositories"`
}

// Mint creates an installation token. req.Owner must be set (see
// ResolveTarget); req.Repositories narrows it (names or owner/name), empty
// meaning every repository of the installation; req.Permissions narrows
// its permissions, empty meaning all the installation has. req.Name is
// echoed into Token.Name (GitHub tokens have none); req.TTL is ignored
// (tokens live TokenLifetime).
func (c *client) Mint(ctx context.Context, req provider.MintRequest) (*provider.Token, error) {
	owner := strings.TrimSpace(req.Owner)
	if owner == "" {
		return nil, inputerr.New("owner", "is required to find the GitHub App installation (the current repository's owner by default)")
	}
	repos, err := NormalizeRepositories(owner, req.Repositories)
	if err != nil {
		return nil, err
	}
	if err := ValidatePermissionsFor(c.base, req.Permissions); err != nil {
		return nil, err
	}
	WarnUndocumented(c.warnf, req.Permissions)
	inst, err := c.installation(ctx, owner, repos)
	if err != nil {
		return nil, err
	}
	body := map[string]any{}
	if len(repos) > 0 {
		body["repositories"] = repos
	}
	if len(req.Permissions) > 0 {
		body["permissions"] = req.Permissions
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("failed to encode request: %w", err)
	}
	id := strconv.FormatInt(inst.ID, 10)
	resp, err := c.appDo(ctx, c.http, http.MethodPost, c.url("app", "installations", id, "access_tokens"), b)
	if err != nil {
		hint := authHint(err)
		if httpx.StatusOf(err) == http.StatusUnprocessableEntity {
			hint = " (ask only for repositories the installation can access and permissions the App was granted)"
		}
		return nil, fmt.Errorf("failed to create an installation token for installation %s: %w%s", id, err, hint)
	}
	var at accessTokenJSON
	if err := httpx.DecodeJSON(resp, &at); err != nil {
		return nil, fmt.Errorf("failed to read the installation token: %w", err)
	}
	if at.Token == "" {
		return nil, fmt.Errorf("failed to read the installation token: %w: the answer has no token", httpx.ErrUnreadable)
	}
	tok := &provider.Token{
		ID:        tokenID(id, at.Token),
		Name:      req.Name,
		Secret:    redact.Secret(at.Token),
		Scopes:    FormatPermissions(at.Permissions),
		CreatedAt: c.now().UTC(),
		Extra:     map[string]string{ExtraInstallationID: id, ExtraAppSlug: redact.Neutralize(inst.AppSlug)},
	}
	if at.ExpiresAt != "" {
		e, err := time.Parse(time.RFC3339, at.ExpiresAt)
		if err != nil {
			// The token exists: hand it back with the documented lifetime
			// rather than leave it unrevoked.
			e = c.now().Add(TokenLifetime)
		}
		tok.ExpiresAt = e.UTC()
	} else {
		tok.ExpiresAt = c.now().Add(TokenLifetime).UTC()
	}
	return tok, nil
}

// tokenID names a token for logs and the token-id output: the installation
// ID and a short digest of the token (which identifies it without exposing
// it). Revocation does not use it.
func tokenID(installationID, token string) string {
	sum := sha256.Sum256([]byte(token))
	return "installation-" + installationID + "-" + hex.EncodeToString(sum[:])[:12]
}

// Revoke revokes an installation token with DELETE /installation/token,
// authenticated with the token itself (t.Secret; t.ID is not used). A token
// past t.ExpiresAt is not sent; a 401 or 404 answer means it is already
// expired or revoked, which is success. 429 and 5xx are retried by the
// HTTP client.
func (c *client) Revoke(ctx context.Context, t provider.Token) error {
	if t.Expired(c.now()) {
		return nil
	}
	if t.Secret.Empty() {
		return fmt.Errorf("failed to revoke the installation token: the token itself is needed to revoke it (GitHub has no revoke by ID)")
	}
	_, err := c.http.Do(ctx, &httpx.Request{
		Method: http.MethodDelete, URL: c.url("installation", "token"),
		Header: githubHeader("token " + t.Secret.Reveal()),
		OK:     []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusGone},
	})
	if err != nil {
		return fmt.Errorf("failed to revoke the installation token: %w", err)
	}
	return nil
}

// List is not supported: installation tokens cannot be listed.
func (c *client) List(context.Context, string) ([]provider.Token, error) {
	return nil, provider.ErrNotSupported
}
