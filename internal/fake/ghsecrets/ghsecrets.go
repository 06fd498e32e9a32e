// Package ghsecrets is a fake GitHub secrets API (../shared/providers.md,
// "GitHub … secrets"): public keys per scope (a real Curve25519 key pair
// each), PUTs that are decrypted with the matching private key and stored
// as plaintext, repository, environment and organization secrets for
// Actions, Dependabot and Codespaces, repository lookups for IDs, Bearer
// token checks, request counts per route and the faults of package fake.
//
// It lives in a non-test package so unit tests, end-to-end tests, the
// fake-server command and benchmarks can all mount it. Its routes do not
// overlap those of a GitHub App fake (/app/…, /repos/{o}/{r}/installation,
// /orgs/{org}/installation, /users/{u}/installation, /installation/token)
// on the same mux.
package ghsecrets

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/nacl/box"

	"github.com/tokenmint/tokenmint/internal/fake"
)

// Routes (the keys of fake.Server counts and faults).
const (
	RouteRepo       = "GET /repos/{owner}/{repo}"
	RouteRepoKey    = "GET /repos/{owner}/{repo}/{kind}/secrets/public-key"
	RouteRepoSecret = "PUT /repos/{owner}/{repo}/{kind}/secrets/{name}"
	RouteEnvKey     = "GET /repos/{owner}/{repo}/environments/{env}/secrets/public-key"
	RouteEnvSecret  = "PUT /repos/{owner}/{repo}/environments/{env}/secrets/{name}"
	RouteOrgKey     = "GET /orgs/{org}/{kind}/secrets/public-key"
	RouteOrgSecret  = "PUT /orgs/{org}/{kind}/secrets/{name}"
)

// Routes lists every route the fake serves.
var Routes = []string{RouteRepo, RouteRepoKey, RouteRepoSecret, RouteEnvKey, RouteEnvSecret, RouteOrgKey, RouteOrgSecret}

const secondaryDocs = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"

// Secret is one stored secret, decrypted.
type Secret struct {
	Type        string // actions, dependabot, codespaces
	Scope       string // repository, environment, organization
	Owner, Repo string
	Environment string
	Org         string
	Name        string // upper-cased, as GitHub stores it
	Value       string // the decrypted plaintext
	KeyID       string
	Visibility  string
	// SelectedRepositoryIDs as received (strings parsed).
	SelectedRepositoryIDs []int64
	Writes                int
	UpdatedAt             time.Time
}

type keyPair struct {
	id   string
	pub  *[32]byte
	priv *[32]byte
}

type repoRec struct {
	ID    int64
	Owner string
	Name  string
}

// Server is the fake. Mount it with Register, or serve it directly.
type Server struct {
	*fake.Server
	// AutoRepos makes every repository exist (IDs assigned on first
	// sight); otherwise only AddRepo'd repositories exist.
	AutoRepos bool

	handler http.Handler // the routes, checked by fake.WrapGitHub

	mu      sync.Mutex
	token   string
	repos   map[string]repoRec
	nextID  int64
	keys    map[string]*keyPair
	nextKey int64
	secrets map[string]*Secret
	fails   map[string]int // "METHOD /unescaped/path" → status
}

// New returns a fake that accepts the GitHub token token (Bearer).
func New(token string) *Server {
	s := &Server{
		Server:  fake.NewServer(),
		token:   token,
		repos:   map[string]repoRec{},
		nextID:  100000,
		keys:    map[string]*keyPair{},
		nextKey: 568250167242549743,
		secrets: map[string]*Secret{},
		fails:   map[string]int{},
	}
	s.Handle(RouteRepo, s.auth(s.getRepo))
	s.Handle(RouteRepoKey, s.auth(s.repoKey))
	s.Handle(RouteRepoSecret, s.auth(s.repoPut))
	s.Handle(RouteEnvKey, s.auth(s.envKey))
	s.Handle(RouteEnvSecret, s.auth(s.envPut))
	s.Handle(RouteOrgKey, s.auth(s.orgKey))
	s.Handle(RouteOrgSecret, s.auth(s.orgPut))
	s.handler = fake.WrapGitHub("", s.Server)
	return s
}

// NewGHES returns a fake served under GitHub Enterprise Server's /api/v3
// (serve it whole; Register mounts the unprefixed routes). In tests its
// requests are checked against the GHES description, which has no
// Codespaces secrets.
func NewGHES(token string) *Server {
	s := New(token)
	s.handler = fake.WrapGitHub(GHESPrefix, http.StripPrefix(GHESPrefix, s.Server))
	return s
}

// GHESPrefix is GitHub Enterprise Server's REST root.
const GHESPrefix = "/api/v3"

// ServeHTTP serves the fake's routes; in tests every request and answer
// is checked against GitHub's REST description (package ghoracle).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Register mounts the fake's routes on mux (next to other fakes).
func (s *Server) Register(mux *http.ServeMux) {
	for _, r := range Routes {
		mux.Handle(r, s)
	}
}

// AddRepo makes owner/name exist and returns its ID (the same ID when it
// exists already).
func (s *Server) AddRepo(owner, name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addRepoLocked(owner, name).ID
}

func (s *Server) addRepoLocked(owner, name string) repoRec {
	k := strings.ToLower(owner + "/" + name)
	if r, ok := s.repos[k]; ok {
		return r
	}
	s.nextID++
	r := repoRec{ID: s.nextID, Owner: owner, Name: name}
	s.repos[k] = r
	return r
}

func (s *Server) repo(owner, name string) (repoRec, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.repos[strings.ToLower(owner+"/"+name)]; ok {
		return r, true
	}
	if s.AutoRepos {
		return s.addRepoLocked(owner, name), true
	}
	return repoRec{}, false
}

// RepoID returns the ID of owner/name.
func (s *Server) RepoID(owner, name string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[strings.ToLower(owner+"/"+name)]
	return r.ID, ok
}

// Fail makes every request with method to the (unescaped) path answer
// status until ClearFail: "403 forbidden for one target".
func (s *Server) Fail(method, path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails[method+" "+path] = status
}

// ClearFail removes every Fail.
func (s *Server) ClearFail() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = map[string]int{}
}

// RotateKeys replaces every key pair: a PUT sealed with an old key then
// fails with 422.
func (s *Server) RotateKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = map[string]*keyPair{}
}

// RepoSecret returns a repository secret (kind: actions, dependabot, codespaces).
func (s *Server) RepoSecret(kind, owner, repo, name string) (Secret, bool) {
	return s.get(secretKey(kind, "repository", owner+"/"+repo, name))
}

// EnvSecret returns an Actions environment secret.
func (s *Server) EnvSecret(owner, repo, env, name string) (Secret, bool) {
	return s.get(secretKey("actions", "environment", owner+"/"+repo+"/"+env, name))
}

// OrgSecret returns an organization secret.
func (s *Server) OrgSecret(kind, org, name string) (Secret, bool) {
	return s.get(secretKey(kind, "organization", org, name))
}

// Secrets returns every stored secret, sorted by scope and name.
func (s *Server) Secrets() []Secret {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := fake.SortedKeys(s.secrets)
	out := make([]Secret, 0, len(keys))
	for _, k := range keys {
		out = append(out, *s.secrets[k])
	}
	return out
}

// Methods returns the HTTP methods of every request received, in order.
func (s *Server) Methods() []string {
	var out []string
	for _, r := range s.Requests() {
		m, _, _ := strings.Cut(r, " ")
		out = append(out, m)
	}
	return out
}

func (s *Server) get(k string) (Secret, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.secrets[k]
	if !ok {
		return Secret{}, false
	}
	return *v, true
}

func secretKey(kind, scope, where, name string) string {
	return strings.ToLower(kind+"|"+scope+"|"+where) + "|" + strings.ToUpper(name)
}

// SecondaryRateLimit is GitHub's 403 secondary-rate-limit answer.
func SecondaryRateLimit(retryAfter int) fake.Fault {
	return fake.Fault{
		Status: http.StatusForbidden,
		Header: map[string]string{"Retry-After": strconv.Itoa(retryAfter)},
		Body:   `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"` + secondaryDocs + `"}`,
	}
}

// TooManyRequests is a 429 with Retry-After.
func TooManyRequests(retryAfter int) fake.Fault {
	return fake.Fault{
		Status: http.StatusTooManyRequests,
		Header: map[string]string{"Retry-After": strconv.Itoa(retryAfter)},
		Body:   `{"message":"Too many requests"}`,
	}
}

// PrimaryRateLimit is a 403 with X-RateLimit-Remaining 0 and the reset time.
func PrimaryRateLimit(reset time.Time) fake.Fault {
	return fake.Fault{
		Status: http.StatusForbidden,
		Header: map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10)},
		Body:   `{"message":"API rate limit exceeded","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`,
	}
}

// ServerError is a 502 with an HTML-ish body.
func ServerError() fake.Fault {
	return fake.Fault{Status: http.StatusBadGateway, Body: "<html>Bad gateway</html>"}
}

// Forbidden is a plain 403 (the token lacks access to the target).
func Forbidden() fake.Fault {
	return fake.Fault{Status: http.StatusForbidden, Body: `{"message":"Resource not accessible by personal access token","documentation_url":"https://docs.github.com/rest"}`}
}

func ghError(w http.ResponseWriter, status int, msg string) {
	fake.JSON(w, status, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "4999")
		w.Header().Set("X-GitHub-Request-Id", "FAKE:"+fake.RandomHex(4))
		tok := fake.BearerToken(r)
		if tok == "" {
			if h := r.Header.Get("Authorization"); len(h) > 6 && strings.EqualFold(h[:6], "token ") {
				tok = strings.TrimSpace(h[6:])
			}
		}
		if tok == "" || tok != s.token {
			ghError(w, http.StatusUnauthorized, "Bad credentials")
			return
		}
		s.mu.Lock()
		st, failing := s.fails[r.Method+" "+r.URL.Path]
		s.mu.Unlock()
		if failing {
			ghError(w, st, "Resource not accessible by personal access token")
			return
		}
		h(w, r)
	}
}

func validKind(k string) bool { return k == "actions" || k == "dependabot" || k == "codespaces" }

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.repo(r.PathValue("owner"), r.PathValue("repo"))
	if !ok {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	fake.JSON(w, http.StatusOK, map[string]any{
		"id": rec.ID, "name": rec.Name, "full_name": rec.Owner + "/" + rec.Name,
		"owner": map[string]any{"login": rec.Owner}, "private": true,
	})
}

// keyFor returns (creating) the key pair of scope.
func (s *Server) keyFor(scope string) *keyPair {
	s.mu.Lock()
	defer s.mu.Unlock()
	scope = strings.ToLower(scope)
	if kp, ok := s.keys[scope]; ok {
		return kp
	}
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		panic("ghsecrets: failed to generate a key: " + err.Error())
	}
	s.nextKey++
	kp := &keyPair{id: strconv.FormatInt(s.nextKey, 10), pub: pub, priv: priv}
	s.keys[scope] = kp
	return kp
}

func writeKey(w http.ResponseWriter, kp *keyPair) {
	fake.JSON(w, http.StatusOK, map[string]string{"key_id": kp.id, "key": base64.StdEncoding.EncodeToString(kp.pub[:])})
}

func (s *Server) repoKey(w http.ResponseWriter, r *http.Request) {
	kind, owner, repo := r.PathValue("kind"), r.PathValue("owner"), r.PathValue("repo")
	if _, ok := s.repo(owner, repo); !ok || !validKind(kind) {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeKey(w, s.keyFor(kind+"|repository|"+owner+"/"+repo))
}

func (s *Server) envKey(w http.ResponseWriter, r *http.Request) {
	owner, repo, env := r.PathValue("owner"), r.PathValue("repo"), r.PathValue("env")
	if _, ok := s.repo(owner, repo); !ok || env == "" {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeKey(w, s.keyFor("actions|environment|"+owner+"/"+repo+"/"+env))
}

func (s *Server) orgKey(w http.ResponseWriter, r *http.Request) {
	kind, org := r.PathValue("kind"), r.PathValue("org")
	if !validKind(kind) {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeKey(w, s.keyFor(kind+"|organization|"+org))
}

type putBody struct {
	KeyID          json.RawMessage `json:"key_id"`
	EncryptedValue string          `json:"encrypted_value"`
	Visibility     *string         `json:"visibility"`
	Selected       json.RawMessage `json:"selected_repository_ids"`
}

func (s *Server) repoPut(w http.ResponseWriter, r *http.Request) {
	kind, owner, repo := r.PathValue("kind"), r.PathValue("owner"), r.PathValue("repo")
	if _, ok := s.repo(owner, repo); !ok || !validKind(kind) {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.put(w, r, kind+"|repository|"+owner+"/"+repo, Secret{Type: kind, Scope: "repository", Owner: owner, Repo: repo})
}

func (s *Server) envPut(w http.ResponseWriter, r *http.Request) {
	owner, repo, env := r.PathValue("owner"), r.PathValue("repo"), r.PathValue("env")
	if _, ok := s.repo(owner, repo); !ok || env == "" {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.put(w, r, "actions|environment|"+owner+"/"+repo+"/"+env, Secret{Type: "actions", Scope: "environment", Owner: owner, Repo: repo, Environment: env})
}

func (s *Server) orgPut(w http.ResponseWriter, r *http.Request) {
	kind, org := r.PathValue("kind"), r.PathValue("org")
	if !validKind(kind) {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.put(w, r, kind+"|organization|"+org, Secret{Type: kind, Scope: "organization", Org: org})
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, scope string, sec Secret) {
	name := r.PathValue("name")
	if !validName(name) {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nSecret names can only contain alphanumeric characters ([a-z], [A-Z], [0-9]) or underscores (_).")
		return
	}
	var body putBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	var keyID string
	if err := json.Unmarshal(body.KeyID, &keyID); err != nil || keyID == "" {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nkey_id must be a string.")
		return
	}
	kp := s.keyFor(scope)
	if keyID != kp.id {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nkey_id does not match the current public key.")
		return
	}
	sealed, err := base64.StdEncoding.DecodeString(body.EncryptedValue)
	if err != nil {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nencrypted_value must be base64.")
		return
	}
	plain, ok := box.OpenAnonymous(nil, sealed, kp.pub, kp.priv)
	if !ok {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nencrypted_value could not be decrypted with key_id.")
		return
	}
	if len(plain) > 48*1024 {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nSecret value is too large.")
		return
	}
	if sec.Scope == "organization" {
		if msg := s.checkOrg(&sec, body); msg != "" {
			ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n"+msg)
			return
		}
	} else if body.Visibility != nil || len(body.Selected) > 0 {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nvisibility and selected_repository_ids are for organization secrets.")
		return
	}
	sec.Name = strings.ToUpper(name)
	sec.Value = string(plain)
	sec.KeyID = keyID
	where := sec.Owner + "/" + sec.Repo
	switch sec.Scope {
	case "environment":
		where += "/" + sec.Environment
	case "organization":
		where = sec.Org
	}
	k := secretKey(sec.Type, sec.Scope, where, name)
	s.mu.Lock()
	old, existed := s.secrets[k]
	if existed {
		sec.Writes = old.Writes
	}
	sec.Writes++
	sec.UpdatedAt = s.Store.Now().UTC()
	s.secrets[k] = &sec
	s.mu.Unlock()
	if existed {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte("{}"))
}

// checkOrg validates visibility and selected_repository_ids: integers
// (Dependabot also takes strings, as API version 2022-11-28 does; version
// 2026-03-10 takes integers only).
func (s *Server) checkOrg(sec *Secret, body putBody) string {
	if body.Visibility == nil {
		return "visibility is required for organization secrets."
	}
	switch *body.Visibility {
	case "all", "private", "selected":
	default:
		return "visibility must be all, private or selected."
	}
	sec.Visibility = *body.Visibility
	var raw []json.RawMessage
	if len(body.Selected) > 0 && string(body.Selected) != "null" {
		if err := json.Unmarshal(body.Selected, &raw); err != nil {
			return "selected_repository_ids must be an array."
		}
	}
	if sec.Visibility != "selected" {
		if len(raw) > 0 {
			return "selected_repository_ids requires visibility selected."
		}
		return ""
	}
	if len(raw) == 0 {
		return "selected_repository_ids is required with visibility selected."
	}
	for _, item := range raw {
		var id int64
		if len(item) > 0 && item[0] == '"' && sec.Type == "dependabot" {
			// API version 2022-11-28 takes Dependabot IDs as strings too.
			var str string
			if err := json.Unmarshal(item, &str); err != nil {
				return "selected_repository_ids must hold repository IDs."
			}
			n, err := strconv.ParseInt(str, 10, 64)
			if err != nil {
				return "selected_repository_ids must hold repository IDs."
			}
			id = n
		} else {
			if len(item) > 0 && item[0] == '"' {
				return "selected_repository_ids must be integers."
			}
			if err := json.Unmarshal(item, &id); err != nil {
				return "selected_repository_ids must be integers."
			}
		}
		if !s.knownID(id) {
			return fmt.Sprintf("repository %d does not exist.", id)
		}
		sec.SelectedRepositoryIDs = append(sec.SelectedRepositoryIDs, id)
	}
	sort.Slice(sec.SelectedRepositoryIDs, func(i, j int) bool { return sec.SelectedRepositoryIDs[i] < sec.SelectedRepositoryIDs[j] })
	return ""
}

func (s *Server) knownID(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.repos {
		if r.ID == id {
			return true
		}
	}
	return false
}

func validName(n string) bool {
	if n == "" || (n[0] >= '0' && n[0] <= '9') || strings.HasPrefix(strings.ToUpper(n), "GITHUB_") {
		return false
	}
	for _, c := range n {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
