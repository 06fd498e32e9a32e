// Package ghapp is a fake GitHub App API (../shared/providers.md, "GitHub"):
// installation lookups by repository, organization and user, installation
// access tokens and their revocation. It verifies what GitHub verifies: the
// App JWT's RS256 signature with the App's public key, its iss, iat and exp
// (at most 10 minutes ahead); that asked repositories belong to the
// installation and asked permissions are within what the App was granted
// (422 otherwise); the installation token on revoke. It issues ghs_ tokens
// that live one hour, counts requests and takes package fake's faults.
//
// Routes (after an optional prefix such as /api/v3 for GHES):
//
//	GET    /app
//	GET    /repos/{owner}/{repo}/installation
//	GET    /orgs/{org}/installation
//	GET    /users/{username}/installation
//	POST   /app/installations/{id}/access_tokens
//	DELETE /installation/token
//	GET    /installation/repositories
//
// They do not overlap the GitHub secrets fake's routes (…/actions/secrets…,
// GET /repos/{o}/{r}), so both can share one http.ServeMux (Register).
package ghapp

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenmint/tokenmint/internal/fake"
)

// Route keys for Count and Push (without the prefix; the Server adds it).
const (
	RouteApp            = "GET /app"
	RouteRepoInstall    = "GET /repos/{owner}/{repo}/installation"
	RouteOrgInstall     = "GET /orgs/{org}/installation"
	RouteUserInstall    = "GET /users/{username}/installation"
	RouteAccessToken    = "POST /app/installations/{id}/access_tokens"
	RouteRevoke         = "DELETE /installation/token"
	RouteInstalledRepos = "GET /installation/repositories"
)

// TokenLifetime is how long issued tokens live; MaxJWTLifetime bounds how
// far ahead an App JWT's exp may be.
const (
	TokenLifetime  = time.Hour
	MaxJWTLifetime = 10 * time.Minute
)

const (
	maxRepositories      = 500
	accountOrganization  = "Organization"
	accountUser          = "User"
	notInstalledMessage  = "Not Found"
	docsURL              = "https://docs.github.com/rest/apps/apps"
	badCredentials       = "Bad credentials"
	jwtSkew              = 30 * time.Second
	installationIDOffset = 40_000_000
)

var routes = []string{RouteApp, RouteRepoInstall, RouteOrgInstall, RouteUserInstall, RouteAccessToken, RouteRevoke, RouteInstalledRepos}

// App is the fake GitHub App.
type App struct {
	ID       int64
	ClientID string
	Slug     string
	Key      *Key
}

// Installation is the App installed on one account.
type Installation struct {
	ID          int64  // 0: assigned
	Account     string // login
	AccountType string // "Organization" (default) or "User"
	// Repositories the installation can access. All is true for "all
	// repositories" (Repositories then lists them all, for checks).
	Repositories []string
	// Permissions granted to the App on this installation.
	Permissions map[string]string
}

// Server is the fake. Use New; mount it with Register or serve it whole.
type Server struct {
	*fake.Server
	App    App
	Prefix string

	handler http.Handler // the routes, checked by fake.WrapGitHub

	mu            sync.Mutex
	installations map[int64]*Installation
	byToken       map[string]string // token → record ID in Store
	nextID        int64
}

// New returns a fake for app with no installations. prefix ("" or
// "/api/v3") is prepended to every route.
func New(app App, prefix string) *Server {
	s := &Server{Server: fake.NewServer(), App: app, Prefix: strings.TrimRight(prefix, "/"), installations: map[int64]*Installation{}, byToken: map[string]string{}, nextID: installationIDOffset}
	s.handle(RouteApp, s.getApp)
	s.handle(RouteRepoInstall, s.repoInstallation)
	s.handle(RouteOrgInstall, s.orgInstallation)
	s.handle(RouteUserInstall, s.userInstallation)
	s.handle(RouteAccessToken, s.createToken)
	s.handle(RouteRevoke, s.revoke)
	s.handle(RouteInstalledRepos, s.installedRepos)
	s.handler = fake.WrapGitHub(s.Prefix, s.withDate(s.Server))
	return s
}

// ServeHTTP serves the fake's routes; in tests every request and answer
// is checked against GitHub's REST description (package ghoracle).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Default App and installations: what NewDefault builds.
const (
	DefaultAppID    = 424242
	DefaultClientID = "Iv23liFakeTokenmint01"
	DefaultSlug     = "tokenmint-fake"
	DefaultOrg      = "octo-org"
	DefaultUser     = "octocat"
)

// DefaultPermissions are granted to both default installations.
var DefaultPermissions = map[string]string{"contents": "write", "issues": "write", "metadata": "read", "pull_requests": "write", "actions": "read", "secrets": "write"}

// NewDefault returns a fake with the process-wide TestKey(0) App
// (DefaultAppID, DefaultClientID, DefaultSlug), the organization
// octo-org (repositories alpha, beta, gamma) and the user octocat
// (hello-world), both granted DefaultPermissions.
func NewDefault(prefix string) *Server {
	s := New(App{ID: DefaultAppID, ClientID: DefaultClientID, Slug: DefaultSlug, Key: TestKey(0)}, prefix)
	s.AddInstallation(Installation{Account: DefaultOrg, AccountType: accountOrganization, Repositories: []string{"alpha", "beta", "gamma"}, Permissions: DefaultPermissions})
	s.AddInstallation(Installation{Account: DefaultUser, AccountType: accountUser, Repositories: []string{"hello-world"}, Permissions: DefaultPermissions})
	return s
}

func (s *Server) key(route string) string {
	if s.Prefix == "" {
		return route
	}
	m, p, _ := strings.Cut(route, " ")
	return m + " " + s.Prefix + p
}

func (s *Server) handle(route string, h http.HandlerFunc) { s.Server.Handle(s.key(route), h) }

// Patterns returns the ServeMux patterns the fake answers (prefix included).
func (s *Server) Patterns() []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = s.key(r)
	}
	return out
}

// Register mounts the fake's routes on mux (next to other fakes).
func (s *Server) Register(mux *http.ServeMux) {
	for _, p := range s.Patterns() {
		mux.Handle(p, s)
	}
}

// Count returns how many requests route (a Route constant) received.
func (s *Server) Count(route string) int { return s.Server.Count(s.key(route)) }

// Push queues faults for route (a Route constant).
func (s *Server) Push(route string, faults ...fake.Fault) { s.Server.Push(s.key(route), faults...) }

// AddInstallation installs the App on an account and returns its ID.
func (s *Server) AddInstallation(in Installation) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.ID == 0 {
		s.nextID++
		in.ID = s.nextID
	}
	if in.AccountType == "" {
		in.AccountType = accountOrganization
	}
	cp := in
	cp.Repositories = slices.Clone(in.Repositories)
	cp.Permissions = map[string]string{}
	for k, v := range in.Permissions {
		cp.Permissions[k] = v
	}
	s.installations[cp.ID] = &cp
	return cp.ID
}

// Start serves the fake on addr ("127.0.0.1:0" when empty) and returns its
// base URL (prefix included) and a stop function.
func (s *Server) Start(addr string) (string, func() error, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("failed to listen: %w", err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return "http://" + ln.Addr().String() + s.Prefix, hs.Close, nil
}

// Token is an issued installation token, as the fake holds it.
type Token struct {
	Token          string
	InstallationID int64
	Repositories   []string // nil: all of the installation's
	Permissions    map[string]string
	ExpiresAt      time.Time
	Revoked        bool
}

// Tokens returns every token issued, in order.
func (s *Server) Tokens() []Token {
	var out []Token
	for _, r := range s.Store.All() {
		out = append(out, recordToken(r))
	}
	return out
}

// LookupToken returns an issued token by its value (for other fakes that
// accept installation tokens). ok is false for unknown tokens.
func (s *Server) LookupToken(token string) (Token, bool) {
	s.mu.Lock()
	id, ok := s.byToken[token]
	s.mu.Unlock()
	if !ok {
		return Token{}, false
	}
	r, ok := s.Store.Get(id)
	if !ok {
		return Token{}, false
	}
	return recordToken(r), true
}

// Valid reports whether token was issued here, is not revoked and has not expired.
func (s *Server) Valid(token string) bool {
	t, ok := s.LookupToken(token)
	return ok && !t.Revoked && s.Store.Now().Before(t.ExpiresAt)
}

func recordToken(r fake.Record) Token {
	t := Token{Token: r.Secret, ExpiresAt: r.ExpiresAt, Revoked: r.Revoked, Permissions: map[string]string{}}
	t.InstallationID, _ = strconv.ParseInt(r.Extra["installation"], 10, 64)
	if v := r.Extra["repositories"]; v != "" {
		t.Repositories = strings.Split(v, ",")
	}
	for _, p := range r.Scopes {
		if k, v, ok := strings.Cut(p, ":"); ok {
			t.Permissions[k] = v
		}
	}
	return t
}

func ghError(w http.ResponseWriter, status int, msg string) {
	fake.JSON(w, status, map[string]any{"message": msg, "documentation_url": docsURL, "status": strconv.Itoa(status)})
}

// GitHub's answers to an App JWT outside its time window (what
// @octokit/auth-app and tokenmint recognise as clock skew).
const (
	MsgIATInvalid = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	MsgEXPInvalid = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	MsgEXPTooFar  = "'Expiration time' claim ('exp') is too far in the future"
)

// appAuth verifies the App JWT. It answers 401 and returns false when the
// JWT is missing, not RS256, not signed by the App's key, for another
// issuer, or outside its time window by the fake's clock (Store.Now): an
// iat in the future, an exp in the past (30 s leeway) or more than 10
// minutes ahead, with GitHub's messages.
func (s *Server) appAuth(w http.ResponseWriter, r *http.Request) bool {
	raw := fake.BearerToken(r)
	if raw == "" {
		ghError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return false
	}
	now := s.Store.Now()
	claims := &jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &s.App.Key.Private.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		ghError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return false
	}
	if claims.Issuer != strconv.FormatInt(s.App.ID, 10) && claims.Issuer != s.App.ClientID {
		ghError(w, http.StatusUnauthorized, "'Issuer' claim ('iss') must be an Integer or the Client ID")
		return false
	}
	switch {
	case claims.IssuedAt == nil || claims.IssuedAt.After(now):
		ghError(w, http.StatusUnauthorized, MsgIATInvalid)
		return false
	case claims.ExpiresAt == nil || claims.ExpiresAt.Before(now.Add(-jwtSkew)):
		ghError(w, http.StatusUnauthorized, MsgEXPInvalid)
		return false
	case claims.ExpiresAt.After(now.Add(MaxJWTLifetime + jwtSkew)):
		ghError(w, http.StatusUnauthorized, MsgEXPTooFar)
		return false
	}
	return true
}

// withDate sets every answer's Date header from the fake's clock, as
// GitHub's answers carry GitHub's time.
func (s *Server) withDate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", s.Store.Now().UTC().Format(http.TimeFormat))
		h.ServeHTTP(w, r)
	})
}

type accountJSON struct {
	Login string `json:"login"`
	Type  string `json:"type"`
}

type installationJSON struct {
	ID                  int64             `json:"id"`
	Account             accountJSON       `json:"account"`
	AppID               int64             `json:"app_id"`
	AppSlug             string            `json:"app_slug"`
	ClientID            string            `json:"client_id"`
	TargetType          string            `json:"target_type"`
	RepositorySelection string            `json:"repository_selection"`
	Permissions         map[string]string `json:"permissions"`
}

func (s *Server) view(in *Installation) installationJSON {
	return installationJSON{ID: in.ID, Account: accountJSON{Login: in.Account, Type: in.AccountType}, AppID: s.App.ID, AppSlug: s.App.Slug, ClientID: s.App.ClientID, TargetType: in.AccountType, RepositorySelection: "selected", Permissions: in.Permissions}
}

// find returns the installation on account (case-insensitive) matching accept.
func (s *Server) find(account string, accept func(*Installation) bool) (installationJSON, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.installations {
		if strings.EqualFold(in.Account, account) && accept(in) {
			return s.view(in), true
		}
	}
	return installationJSON{}, false
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	if !s.appAuth(w, r) {
		return
	}
	fake.JSON(w, http.StatusOK, map[string]any{"id": s.App.ID, "slug": s.App.Slug, "client_id": s.App.ClientID, "name": s.App.Slug})
}

func (s *Server) repoInstallation(w http.ResponseWriter, r *http.Request) {
	if !s.appAuth(w, r) {
		return
	}
	repo := r.PathValue("repo")
	in, ok := s.find(r.PathValue("owner"), func(in *Installation) bool { return containsFold(in.Repositories, repo) })
	if !ok {
		ghError(w, http.StatusNotFound, notInstalledMessage)
		return
	}
	fake.JSON(w, http.StatusOK, in)
}

func (s *Server) orgInstallation(w http.ResponseWriter, r *http.Request) {
	if !s.appAuth(w, r) {
		return
	}
	in, ok := s.find(r.PathValue("org"), func(in *Installation) bool { return in.AccountType == accountOrganization })
	if !ok {
		ghError(w, http.StatusNotFound, notInstalledMessage)
		return
	}
	fake.JSON(w, http.StatusOK, in)
}

func (s *Server) userInstallation(w http.ResponseWriter, r *http.Request) {
	if !s.appAuth(w, r) {
		return
	}
	in, ok := s.find(r.PathValue("username"), func(*Installation) bool { return true })
	if !ok {
		ghError(w, http.StatusNotFound, notInstalledMessage)
		return
	}
	fake.JSON(w, http.StatusOK, in)
}

func containsFold(list []string, v string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) })
}

var levelRank = map[string]int{"read": 1, "write": 2, "admin": 3}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	if !s.appAuth(w, r) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	in, ok := s.installations[id]
	var inst Installation
	if ok {
		inst = *in
	}
	s.mu.Unlock()
	if err != nil || !ok {
		ghError(w, http.StatusNotFound, notInstalledMessage)
		return
	}
	var body struct {
		Repositories  []string          `json:"repositories"`
		RepositoryIDs []int64           `json:"repository_ids"`
		Permissions   map[string]string `json:"permissions"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if len(body.RepositoryIDs) > 0 {
		ghError(w, http.StatusUnprocessableEntity, "repository_ids is not supported by this fake")
		return
	}
	if body.Repositories != nil && len(body.Repositories) == 0 {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nrepositories must not be empty")
		return
	}
	if len(body.Repositories) > maxRepositories {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nNo more than 500 repositories may be specified.")
		return
	}
	for _, repo := range body.Repositories {
		if strings.Contains(repo, "/") || !containsFold(inst.Repositories, repo) {
			ghError(w, http.StatusUnprocessableEntity, "There is at least one repository that does not exist or is not accessible to the parent installation.")
			return
		}
	}
	perms := body.Permissions
	if len(perms) == 0 {
		perms = inst.Permissions
	}
	for name, level := range perms {
		granted, ok := inst.Permissions[name]
		if levelRank[level] == 0 {
			ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nThe permission level is not one of read, write, admin.")
			return
		}
		if !ok || levelRank[level] > levelRank[granted] {
			ghError(w, http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation.")
			return
		}
	}
	now := s.Store.Now().UTC().Truncate(time.Second)
	tok := "ghs_" + randomAlnum(36)
	rec := fake.Record{ID: "ghs-" + fake.RandomHex(8), Secret: tok, CreatedAt: now, ExpiresAt: now.Add(TokenLifetime),
		Extra: map[string]string{"installation": strconv.FormatInt(id, 10), "repositories": strings.Join(body.Repositories, ",")}}
	for _, k := range fake.SortedKeys(perms) {
		rec.Scopes = append(rec.Scopes, k+":"+perms[k])
	}
	s.Store.Add(rec)
	s.mu.Lock()
	s.byToken[tok] = rec.ID
	s.mu.Unlock()
	out := map[string]any{
		"token": tok, "expires_at": rec.ExpiresAt.Format(time.RFC3339), "permissions": perms,
		"repository_selection": "all",
	}
	if len(body.Repositories) > 0 {
		out["repository_selection"] = "selected"
		var repos []map[string]any
		for i, name := range body.Repositories {
			repos = append(repos, map[string]any{"id": i + 1, "name": name, "full_name": inst.Account + "/" + name})
		}
		out["repositories"] = repos
	}
	fake.JSON(w, http.StatusCreated, out)
}

// tokenAuth returns the installation token of "Authorization: token …" or
// "Bearer …".
func tokenAuth(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, v, ok := strings.Cut(h, " ")
	if !ok || (!strings.EqualFold(scheme, "token") && !strings.EqualFold(scheme, "bearer")) {
		return ""
	}
	return strings.TrimSpace(v)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	tok := tokenAuth(r)
	if !s.Valid(tok) {
		ghError(w, http.StatusUnauthorized, badCredentials)
		return
	}
	s.mu.Lock()
	id := s.byToken[tok]
	s.mu.Unlock()
	s.Store.Revoke(id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) installedRepos(w http.ResponseWriter, r *http.Request) {
	tok := tokenAuth(r)
	if !s.Valid(tok) {
		ghError(w, http.StatusUnauthorized, badCredentials)
		return
	}
	t, _ := s.LookupToken(tok)
	s.mu.Lock()
	in := s.installations[t.InstallationID]
	repos := t.Repositories
	account := ""
	if in != nil {
		account = in.Account
		if repos == nil {
			repos = slices.Clone(in.Repositories)
		}
	}
	s.mu.Unlock()
	list := []map[string]any{}
	for i, name := range repos {
		list = append(list, map[string]any{"id": i + 1, "name": name, "full_name": account + "/" + name})
	}
	fake.JSON(w, http.StatusOK, map[string]any{"total_count": len(list), "repositories": list})
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomAlnum(n int) string {
	h := fake.RandomHex(n)
	b := make([]byte, n)
	for i := range b {
		v, _ := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		b[i] = alnum[int(v)%len(alnum)]
	}
	return string(b)
}
