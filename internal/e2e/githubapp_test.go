package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/fake/ghapp"
)

// The github-app end-to-end tests run both phases as processes against the
// fake GitHub App API (internal/fake/ghapp) on 127.0.0.1, as in issue 4.

const (
	routeRepoInstall = ghapp.RouteRepoInstall
	routeOrgInstall  = ghapp.RouteOrgInstall
	routeUserInstall = ghapp.RouteUserInstall
	routeAccessToken = ghapp.RouteAccessToken
	routeRevoke      = ghapp.RouteRevoke
)

// ghappOutputs are the outputs a github-app step may set.
var ghappOutputs = []string{"token", "token-id", "token-name", "expires-at", "scopes", "installation-id", "app-slug"}

// received is one request as the fake's listener got it.
type received struct {
	Method, Path string
	Body         []byte
}

// recorder records every request (with its body) before the fake sees it.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []received
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.reqs = append(r.reqs, received{Method: req.Method, Path: req.URL.Path, Body: body})
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

// tokenBodies returns the decoded bodies of every access-token request.
func (r *recorder) tokenBodies(t *testing.T) []map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, q := range r.reqs {
		if q.Method == http.MethodPost && strings.HasSuffix(q.Path, "/access_tokens") {
			m := map[string]any{}
			if err := json.Unmarshal(q.Body, &m); err != nil {
				t.Fatalf("access-token body is not JSON: %v", err)
			}
			out = append(out, m)
		}
	}
	return out
}

type ghappEnv struct {
	fake *ghapp.Server
	rec  *recorder
	url  string // API base, prefix included
	pem  string
}

// newGHApp serves a default fake (octo-org: alpha, beta, gamma; octocat:
// hello-world) under prefix ("" or "/api/v3"). tlsSrv serves it over TLS
// with httptest's certificate (valid for example.com and 127.0.0.1).
func newGHApp(t *testing.T, prefix string, tlsSrv bool) (*ghappEnv, *httptest.Server) {
	t.Helper()
	f := ghapp.NewDefault(prefix)
	rec := &recorder{next: f}
	var srv *httptest.Server
	if tlsSrv {
		srv = httptest.NewTLSServer(rec)
	} else {
		srv = httptest.NewServer(rec)
	}
	t.Cleanup(srv.Close)
	return &ghappEnv{fake: f, rec: rec, url: srv.URL + prefix, pem: ghapp.TestKey(0).PKCS1PEM()}, srv
}

func (e *ghappEnv) inputs(extra map[string]string) map[string]string {
	in := map[string]string{
		"provider":  "github-app",
		"admin-key": e.pem,
		"client-id": ghapp.DefaultClientID,
		"api-url":   e.url,
	}
	for k, v := range extra {
		in[k] = strings.ReplaceAll(v, "{api}", e.url)
	}
	return in
}

// routes returns the route keys the fake received, without its prefix.
func (e *ghappEnv) routes() []string {
	var out []string
	for _, r := range e.fake.Requests() {
		m, p, _ := strings.Cut(r, " ")
		out = append(out, m+" "+strings.TrimPrefix(p, e.fake.Prefix))
	}
	return out
}

// ghappHygiene asserts what every github-app run must: the private keys
// the job was given and every issued token appear nowhere printed, in the summary, or in state
// (state may hold the token: its revocation needs it); only tokenmint's own
// workflow commands; only declared outputs; the token masked.
func ghappHygiene(t *testing.T, j *Job, e *ghappEnv, keys ...string) {
	t.Helper()
	tokens := e.fake.Store.Secrets()
	secrets := slices.Clone(tokens)
	for _, s := range keys {
		if strings.TrimSpace(s) != "" {
			secrets = append(secrets, s)
		}
	}
	if leaks := j.Leaks(secrets, tokens...); len(leaks) > 0 {
		t.Errorf("secrets leaked: %v", leaks)
	}
	for _, c := range j.Commands() {
		if !slices.Contains(allowedCommands, c) {
			t.Errorf("unexpected workflow command %q in output", c)
		}
	}
	for k := range j.Outputs {
		if !slices.Contains(ghappOutputs, k) {
			t.Errorf("undeclared output %q was set", k)
		}
	}
	if tok := j.Outputs["token"]; tok != "" {
		if missing := j.Unmasked([]string{tok}); len(missing) > 0 {
			t.Errorf("token was never masked")
		}
	}
}

// errorLines returns the ::error:: lines both phases printed.
func errorLines(j *Job) []string {
	var out []string
	for _, text := range j.Printed {
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, "::error") {
				out = append(out, l)
			}
		}
	}
	return out
}

// pemLines returns the non-empty lines of a PEM.
func pemLines(p string) []string {
	var out []string
	for _, l := range strings.Split(p, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func TestAction_GitHubApp(t *testing.T) {
	t.Parallel()
	type env = ghappEnv
	cases := []struct {
		name    string
		prefix  string
		inputs  map[string]string
		context map[string]string // GITHUB_* ({api} is the fake's base)
		setup   func(e *env)
		between func(t *testing.T, e *env, j *Job)
		// wantMain/wantPost are exit codes; skipPost leaves post out.
		wantMain, wantPost int
		skipPost           bool
		kill               bool // kill main once the fake has issued a token
		wantRoutes         []string
		// wantBodies are the access-token request bodies (nil: not checked).
		wantBodies []map[string]any
		wantValid  bool // the token is still valid at the end
		check      func(t *testing.T, e *env, j *Job, main, post Phase)
	}{
		{
			name:       "happy_path",
			context:    map[string]string{"GITHUB_REPOSITORY": "octo-org/alpha"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": []any{"alpha"}}},
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				toks := e.fake.Tokens()
				if len(toks) != 1 {
					t.Fatalf("want 1 token, got %d", len(toks))
				}
				tok := toks[0]
				want := map[string]string{
					"token":           tok.Token,
					"token-id":        j.Outputs["token-id"],
					"token-name":      j.Outputs["token-name"],
					"expires-at":      tok.ExpiresAt.UTC().Format(time.RFC3339),
					"scopes":          "actions:read,contents:write,issues:write,metadata:read,pull_requests:write,secrets:write",
					"installation-id": strconv.FormatInt(tok.InstallationID, 10),
					"app-slug":        ghapp.DefaultSlug,
				}
				if diff := cmp.Diff(want, j.Outputs); diff != "" {
					t.Errorf("outputs (-want +got):\n%s", diff)
				}
				if id := j.Outputs["token-id"]; !strings.HasPrefix(id, "installation-"+want["installation-id"]+"-") || strings.Contains(id, tok.Token) {
					t.Errorf("token-id %q does not name the installation, or holds the token", id)
				}
				if !tok.Revoked || e.fake.Valid(tok.Token) {
					t.Errorf("post did not revoke the token (revoked %v)", tok.Revoked)
				}
				if missing := j.Unmasked(pemLines(e.pem)); len(missing) > 0 {
					t.Errorf("PEM lines never masked: %d of %d", len(missing), len(pemLines(e.pem)))
				}
				if len(errorLines(j)) > 0 || strings.Contains(main.Stdout+post.Stdout, "::warning") {
					t.Errorf("a clean run printed errors or warnings:\n%s%s", main.Stdout, post.Stdout)
				}
			},
		},
		{
			name:       "target_none_is_current_repository",
			context:    map[string]string{"GITHUB_REPOSITORY": "octo-org/beta"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": []any{"beta"}}},
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if diff := cmp.Diff([]string{"beta"}, e.fake.Tokens()[0].Repositories); diff != "" {
					t.Errorf("token repositories (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:       "target_owner_only_is_every_repository_of_the_installation",
			inputs:     map[string]string{"owner": "octo-org"},
			wantRoutes: []string{routeOrgInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{}},
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if r := e.fake.Tokens()[0].Repositories; r != nil {
					t.Errorf("token narrowed to %v; want every repository", r)
				}
			},
		},
		{
			name:       "target_owner_only_user_account",
			inputs:     map[string]string{"owner": "octocat"},
			wantRoutes: []string{routeOrgInstall, routeUserInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{}},
		},
		{
			name:       "target_owner_and_repositories",
			inputs:     map[string]string{"owner": "octo-org", "repositories": "alpha,\n gamma"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": []any{"alpha", "gamma"}}},
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if diff := cmp.Diff([]string{"alpha", "gamma"}, e.fake.Tokens()[0].Repositories); diff != "" {
					t.Errorf("token repositories (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:       "target_owner_slash_repository_form",
			inputs:     map[string]string{"owner": "octo-org", "repositories": "octo-org/beta"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": []any{"beta"}}},
		},
		{
			name:       "permissions_narrowed_with_list_and_alias",
			inputs:     map[string]string{"owner": "octo-org", "repositories": "alpha", "permissions": "contents:read", "permission-issues": "write"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": []any{"alpha"}, "permissions": map[string]any{"contents": "read", "issues": "write"}}},
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if got := j.Outputs["scopes"]; got != "contents:read,issues:write" {
					t.Errorf("scopes output = %q, want contents:read,issues:write", got)
				}
				if diff := cmp.Diff(map[string]string{"contents": "read", "issues": "write"}, e.fake.Tokens()[0].Permissions); diff != "" {
					t.Errorf("token permissions (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:       "permission_the_app_lacks_fails_clearly",
			inputs:     map[string]string{"owner": "octo-org", "permissions": "administration:write"},
			wantMain:   1,
			wantRoutes: []string{routeOrgInstall, routeAccessToken},
			wantBodies: []map[string]any{{"permissions": map[string]any{"administration": "write"}}},
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				errs := errorLines(j)
				if len(errs) != 1 || !strings.Contains(errs[0], "422") || !strings.Contains(errs[0], "permissions the App was granted") {
					t.Errorf("want one ::error:: about the permission the App lacks, got %q", errs)
				}
				if len(e.fake.Tokens()) != 0 || len(j.Outputs) != 0 {
					t.Errorf("a token or outputs exist after a refused mint")
				}
			},
		},
		{
			name:       "permission_level_above_grant_fails",
			inputs:     map[string]string{"owner": "octo-org", "permission-metadata": "write"},
			wantMain:   1,
			wantRoutes: []string{routeOrgInstall, routeAccessToken},
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if errs := errorLines(j); len(errs) != 1 || !strings.Contains(errs[0], "permissions the App was granted") {
					t.Errorf("want one ::error:: about the permission, got %q", errs)
				}
			},
		},
		{
			name:     "unknown_permission_is_an_input_error",
			inputs:   map[string]string{"owner": "octo-org", "permissions": "spaceships:write"},
			wantMain: 1,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if errs := errorLines(j); len(errs) != 1 || !strings.Contains(errs[0], `input "permissions"`) {
					t.Errorf("want one ::error:: on permissions, got %q", errs)
				}
			},
		},
		{
			// Config's target check and the provider's own check both find
			// it: the user still sees it once.
			name:     "repository_of_another_owner_is_one_error",
			inputs:   map[string]string{"owner": "actions", "repositories": "octo/other"},
			wantMain: 1,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if errs := errorLines(j); len(errs) != 1 || !strings.Contains(errs[0], `input "repositories"`) {
					t.Errorf("want one ::error:: on repositories, got %q", errs)
				}
			},
		},
		{
			name: "create_github_app_token_aliases_and_skip_revoke",
			inputs: map[string]string{
				"client-id": "", "admin-key": "", "api-url": "",
				"app-id": strconv.Itoa(ghapp.DefaultAppID), "private-key": "{pem}", "github-api-url": "{api}",
				"owner": "octo-org", "repositories": "alpha", "skip-token-revoke": "true",
			},
			wantRoutes: []string{routeRepoInstall, routeAccessToken},
			wantBodies: []map[string]any{{"repositories": []any{"alpha"}}},
			wantValid:  true,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if !strings.Contains(post.Stdout, "::notice::") {
					t.Errorf("post printed no notice that the token is kept:\n%s", post.Stdout)
				}
				if j.Outputs["app-slug"] != ghapp.DefaultSlug {
					t.Errorf("app-slug = %q", j.Outputs["app-slug"])
				}
			},
		},
		{
			// The post phase reads the key under its alias too.
			name: "create_github_app_token_aliases_post_revokes",
			inputs: map[string]string{
				"client-id": "", "admin-key": "", "app-id": strconv.Itoa(ghapp.DefaultAppID), "private-key": "{pem}",
				"owner": "octo-org", "repositories": "alpha", "permission-contents": "read",
			},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": []any{"alpha"}, "permissions": map[string]any{"contents": "read"}}},
		},
		{
			name:     "permission_alias_conflicting_with_permissions",
			inputs:   map[string]string{"owner": "octo-org", "permissions": "contents:read", "permission-contents": "write"},
			wantMain: 1,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if errs := errorLines(j); len(errs) != 1 || !strings.Contains(errs[0], `input "permission-contents"`) {
					t.Errorf("want one ::error:: naming permission-contents, got %q", errs)
				}
			},
		},
		{
			name: "alias_conflict_app_id_and_client_id",
			inputs: map[string]string{
				"app-id": strconv.Itoa(ghapp.DefaultAppID), "owner": "octo-org",
			},
			wantMain: 1,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				errs := errorLines(j)
				if len(errs) != 1 || !strings.Contains(errs[0], `input "app-id"`) || !strings.Contains(errs[0], "client-id") {
					t.Errorf("want one ::error:: naming app-id, got %q", errs)
				}
			},
		},
		{
			name:       "ghes_base_from_api_url",
			prefix:     "/api/v3",
			inputs:     map[string]string{"owner": "octo-org", "repositories": "alpha"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if got := j.State["api-url"]; !strings.HasSuffix(got, "/api/v3") {
					t.Errorf("state api-url = %q, want the GHES base", got)
				}
				if e.fake.Valid(e.fake.Tokens()[0].Token) {
					t.Errorf("post did not revoke at the GHES base")
				}
			},
		},
		{
			name:       "ghes_base_from_github_api_url_env",
			prefix:     "/api/v3",
			inputs:     map[string]string{"api-url": "", "owner": "octo-org", "repositories": "alpha"},
			context:    map[string]string{"GITHUB_API_URL": "{api}"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if e.fake.Valid(e.fake.Tokens()[0].Token) {
					t.Errorf("post did not revoke at the GHES base")
				}
			},
		},
		{
			name:       "missing_installation_names_the_owner",
			inputs:     map[string]string{"owner": "ghost-org"},
			wantMain:   1,
			wantRoutes: []string{routeOrgInstall, routeUserInstall},
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if errs := errorLines(j); len(errs) != 1 || !strings.Contains(errs[0], "ghost-org") || !strings.Contains(errs[0], "not installed") {
					t.Errorf("want one ::error:: naming ghost-org, got %q", errs)
				}
			},
		},
		{
			name:       "missing_installation_for_current_repository",
			wantMain:   1,
			wantRoutes: []string{routeRepoInstall},
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if errs := errorLines(j); len(errs) != 1 || !strings.Contains(errs[0], "octo-org/octo-repo") {
					t.Errorf("want one ::error:: naming octo-org/octo-repo, got %q", errs)
				}
			},
		},
		{
			name:     "ttl_over_one_hour_is_an_input_error",
			inputs:   map[string]string{"owner": "octo-org", "ttl": "2h"},
			wantMain: 1,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if errs := errorLines(j); len(errs) != 1 || !strings.Contains(errs[0], `input "ttl": must be at most 1h `) {
					t.Errorf("want one ::error:: on ttl, got %q", errs)
				}
			},
		},
		{
			name:       "ttl_under_one_hour_is_a_notice",
			inputs:     map[string]string{"owner": "octo-org", "ttl": "30m"},
			wantRoutes: []string{routeOrgInstall, routeAccessToken, routeRevoke},
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if !strings.Contains(main.Stdout, "::notice::") || !strings.Contains(main.Stdout, "30m") {
					t.Errorf("main printed no notice about the 30m ttl:\n%s", main.Stdout)
				}
			},
		},
		{
			name:   "expired_token_post_sends_nothing",
			inputs: map[string]string{"owner": "octo-org"},
			between: func(t *testing.T, e *env, j *Job) {
				j.State["expires-at"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
			},
			wantRoutes: []string{routeOrgInstall, routeAccessToken},
			wantValid:  true, // the fake's clock says it still lives; post believed state
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if !strings.Contains(post.Stdout, "::notice::") || !strings.Contains(post.Stdout, "expired") {
					t.Errorf("post printed no expiry notice:\n%s", post.Stdout)
				}
			},
		},
		{
			name:   "revoke_retried_after_502",
			inputs: map[string]string{"owner": "octo-org"},
			setup: func(e *env) {
				e.fake.Push(routeRevoke, fake.Fault{Status: 502, Body: `{"message":"Server Error"}`})
			},
			wantRoutes: []string{routeOrgInstall, routeAccessToken, routeRevoke, routeRevoke},
			check:      checkCleanRevoke,
		},
		{
			name:   "revoke_retried_after_429_retry_after",
			inputs: map[string]string{"owner": "octo-org"},
			setup: func(e *env) {
				e.fake.Push(routeRevoke, fake.Fault{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: `{"message":"API rate limit exceeded"}`})
			},
			wantRoutes: []string{routeOrgInstall, routeAccessToken, routeRevoke, routeRevoke},
			check:      checkCleanRevoke,
		},
		{
			name:   "revoke_of_an_already_revoked_token_is_success",
			inputs: map[string]string{"owner": "octo-org"},
			between: func(t *testing.T, e *env, j *Job) {
				e.fake.Store.Revoke(e.fake.Store.All()[0].ID)
			},
			wantRoutes: []string{routeOrgInstall, routeAccessToken, routeRevoke},
			check:      checkCleanRevoke,
		},
		{
			name:   "revoke_failure_warns_naming_the_token",
			inputs: map[string]string{"owner": "octo-org"},
			setup: func(e *env) {
				e.fake.Push(routeRevoke, fake.Fault{Status: 403, Body: `{"message":"::stop-commands::x Resource not accessible"}`})
			},
			wantRoutes: []string{routeOrgInstall, routeAccessToken, routeRevoke},
			wantValid:  true,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if !strings.Contains(post.Stdout, "::warning::") || !strings.Contains(post.Stdout, j.Outputs["token-id"]) {
					t.Errorf("post did not warn naming %s:\n%s", j.Outputs["token-id"], post.Stdout)
				}
			},
		},
		{
			// GitHub cannot list installation tokens: a token whose answer
			// main never read cannot be found. Post warns, naming the name.
			name:       "main_killed_after_the_token_was_created",
			inputs:     map[string]string{"owner": "octo-org"},
			setup:      func(e *env) { e.fake.Push(routeAccessToken, fake.Fault{After: true, Delay: time.Minute}) },
			kill:       true,
			wantMain:   -1,
			wantRoutes: []string{routeOrgInstall, routeAccessToken},
			wantValid:  true,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				name := j.State["ledger"]
				if !strings.Contains(post.Stdout, "::warning::") || !strings.Contains(post.Stdout, "cannot look tokens up by name") ||
					!strings.Contains(name, NamePrefix(nameIn(post.Stdout))) || nameIn(post.Stdout) == "" {
					t.Errorf("post did not warn naming the lost token:\n%s", post.Stdout)
				}
			},
		},
		{
			name:       "escaped_pem_in_one_line",
			inputs:     map[string]string{"admin-key": ghapp.TestKey(0).EscapedPEM(), "owner": "octo-org"},
			wantRoutes: []string{routeOrgInstall, routeAccessToken, routeRevoke},
		},
		{
			name:       "pkcs8_pem",
			inputs:     map[string]string{"admin-key": ghapp.TestKey(0).PKCS8PEM(), "owner": "octo-org"},
			wantRoutes: []string{routeOrgInstall, routeAccessToken, routeRevoke},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, _ := newGHApp(t, tc.prefix, false)
			if tc.setup != nil {
				tc.setup(e)
			}
			in := e.inputs(tc.inputs)
			for k, v := range in {
				in[k] = strings.ReplaceAll(v, "{pem}", e.pem)
			}
			j := NewJob(t, in)
			for k, v := range tc.context {
				j.Context[k] = strings.ReplaceAll(v, "{api}", e.url)
			}
			var main Phase
			if tc.kill {
				main = j.MainUntil(t, func() bool { return len(e.fake.Tokens()) > 0 })
			} else {
				main = j.Main(t)
			}
			if main.ExitCode != tc.wantMain {
				t.Fatalf("main exit %d, want %d\n%s%s", main.ExitCode, tc.wantMain, main.Stdout, main.Stderr)
			}
			if tc.between != nil {
				tc.between(t, e, j)
			}
			var post Phase
			if !tc.skipPost {
				post = j.Post(t)
				if post.ExitCode != tc.wantPost {
					t.Fatalf("post exit %d, want %d\n%s%s", post.ExitCode, tc.wantPost, post.Stdout, post.Stderr)
				}
			}
			t.Logf("main:\n%s%s\npost:\n%s%s", main.Stdout, main.Stderr, post.Stdout, post.Stderr)
			if diff := cmp.Diff(tc.wantRoutes, e.routes()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if tc.wantBodies != nil {
				if diff := cmp.Diff(tc.wantBodies, e.rec.tokenBodies(t)); diff != "" {
					t.Errorf("access-token bodies (-want +got):\n%s", diff)
				}
			}
			valid := 0
			for _, tok := range e.fake.Tokens() {
				if e.fake.Valid(tok.Token) {
					valid++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tc.wantValid]; valid != want {
				t.Errorf("%d valid tokens at the end, want %d", valid, want)
			}
			if tc.wantMain != 0 && !tc.kill && strings.Contains(post.Stdout, "::warning") {
				t.Errorf("post warned after a mint that failed (main already reported why):\n%s", post.Stdout)
			}
			ghappHygiene(t, j, e, in["admin-key"], in["private-key"])
			if tc.check != nil {
				tc.check(t, e, j, main, post)
			}
		})
	}
}

func checkCleanRevoke(t *testing.T, e *ghappEnv, j *Job, main, post Phase) {
	t.Helper()
	if strings.Contains(post.Stdout, "::warning") || strings.Contains(post.Stdout, "::error") {
		t.Errorf("post warned although the token was revoked:\n%s", post.Stdout)
	}
	if toks := e.fake.Tokens(); len(toks) != 1 || !toks[0].Revoked {
		t.Errorf("the token is not revoked at the fake")
	}
}

// TestAction_GitHubApp_badKey: a private key that is not an RSA PEM fails
// main with one ::error:: on admin-key, sends nothing and never echoes the
// key.
func TestAction_GitHubApp_badKey(t *testing.T) {
	t.Parallel()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	ec8DER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	rsaLines := pemLines(ghapp.TestKey(1).PKCS1PEM())
	truncated := strings.Join(append(rsaLines[:len(rsaLines)/2], rsaLines[len(rsaLines)-1]), "\n")
	cases := []struct {
		name, key, want string
	}{
		{name: "garbage", key: "this-is-not-a-key-9f8e7d6c5b4a39281706", want: "is not a PEM private key"},
		{name: "ec_key", key: string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})), want: "EC key"},
		{name: "pkcs8_ec_key", key: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ec8DER})), want: "not RSA"},
		{name: "truncated_rsa_key", key: truncated, want: "does not parse"},
		{name: "public_key_only", key: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, &ec.PublicKey)})), want: "public key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, _ := newGHApp(t, "", false)
			j := NewJob(t, e.inputs(map[string]string{"admin-key": tc.key, "owner": "octo-org"}))
			main := j.Main(t)
			if main.ExitCode != 1 {
				t.Fatalf("main exit %d, want 1\n%s%s", main.ExitCode, main.Stdout, main.Stderr)
			}
			errs := errorLines(j)
			if len(errs) != 1 || !strings.Contains(errs[0], `input "admin-key"`) || !strings.Contains(errs[0], tc.want) {
				t.Errorf("want one ::error:: on admin-key saying %q, got %q", tc.want, errs)
			}
			if post := j.Post(t); post.ExitCode != 0 || post.Stdout != "" {
				t.Errorf("post after a refused key: exit %d\n%s", post.ExitCode, post.Stdout)
			}
			if n := e.fake.Total(); n != 0 {
				t.Errorf("%d requests sent with a bad key", n)
			}
			ghappHygiene(t, j, e, tc.key)
		})
	}
}

func mustPKIX(t *testing.T, pub any) []byte {
	t.Helper()
	b, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAction_GitHubApp_proxy: both phases reach https://example.com/api/v3
// (the TLS fake, trusted through SSL_CERT_FILE) only through the CONNECT
// proxy named by HTTPS_PROXY: the runner hands its proxy variables to the
// container. A NO_PROXY entry with a leading dot matches subdomains only
// (Go's rule), so example.com itself is still proxied.
func TestAction_GitHubApp_proxy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  func(proxyURL string) map[string]string
	}{
		{name: "https_proxy", env: func(u string) map[string]string { return map[string]string{"HTTPS_PROXY": u} }},
		{name: "lowercase_https_proxy", env: func(u string) map[string]string { return map[string]string{"https_proxy": u} }},
		{name: "no_proxy_leading_dot_is_subdomains_only", env: func(u string) map[string]string {
			return map[string]string{"HTTPS_PROXY": u, "NO_PROXY": ".example.com,ghes.internal"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, srv := newGHApp(t, "/api/v3", true)
			px := &fake.ConnectProxy{Target: srv.Listener.Addr().String()}
			psrv := httptest.NewServer(px)
			t.Cleanup(psrv.Close)
			certFile := filepath.Join(t.TempDir(), "fake-ca.pem")
			if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
				t.Fatal(err)
			}
			j := NewJob(t, e.inputs(map[string]string{"api-url": "https://example.com/api/v3", "owner": "octo-org", "repositories": "alpha"}))
			j.Env["SSL_CERT_FILE"] = certFile
			for k, v := range tc.env(psrv.URL) {
				j.Env[k] = v
			}
			main := j.Main(t)
			if main.ExitCode != 0 {
				t.Fatalf("main exit %d\n%s%s", main.ExitCode, main.Stdout, main.Stderr)
			}
			mainHosts := px.Take()
			post := j.Post(t)
			if post.ExitCode != 0 {
				t.Fatalf("post exit %d\n%s%s", post.ExitCode, post.Stdout, post.Stderr)
			}
			postHosts := px.Take()
			for phase, hosts := range map[string][]string{"main": mainHosts, "post": postHosts} {
				if len(hosts) == 0 {
					t.Errorf("%s: no CONNECT reached the proxy", phase)
				}
				for _, h := range hosts {
					if h != "example.com:443" {
						t.Errorf("%s: proxy asked for %q, want example.com:443", phase, h)
					}
				}
			}
			if diff := cmp.Diff([]string{routeRepoInstall, routeAccessToken, routeRevoke}, e.routes()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if toks := e.fake.Tokens(); len(toks) != 1 || !toks[0].Revoked {
				t.Errorf("want one token, minted and revoked through the proxy")
			}
			if strings.Contains(post.Stdout, "::warning") {
				t.Errorf("post warned:\n%s", post.Stdout)
			}
			ghappHygiene(t, j, e, e.pem)
		})
	}
}
