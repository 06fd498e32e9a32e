package e2e

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/fake/ghapp"
)

// create-github-app-token v3.1.1's own test suite (tests/*.test.js: 25
// scenarios, each a set of inputs and a mocked GitHub) run as tokenmint
// inputs against the fake GitHub App API: the requests, the outputs and
// what post does. verdict says how tokenmint compares:
//
//   - match: the same requests, outputs and post behaviour;
//   - deliberate: tokenmint differs on purpose (why says why;
//     docs/github-app.md lists every one);
//   - improvement: create-github-app-token fails or does less.
//
// The accounts are the suite's: the organization actions (repositories
// create-github-app-token, toolkit, checkout, failed-repo) and the user
// smockle; the workflow runs in actions/create-github-app-token.

type cgatVerdict string

const (
	cgatMatch       cgatVerdict = "match"
	cgatDeliberate  cgatVerdict = "deliberate"
	cgatImprovement cgatVerdict = "improvement"
)

// post outcomes.
const (
	postRevoked = "revoked" // DELETE /installation/token sent, token revoked
	postNothing = "nothing" // post sent nothing
)

func newCGATApp(t *testing.T, prefix string) (*ghappEnv, *httptest.Server) {
	t.Helper()
	f := ghapp.New(ghapp.App{ID: ghapp.DefaultAppID, ClientID: ghapp.DefaultClientID, Slug: "github-actions", Key: ghapp.TestKey(0)}, prefix)
	perms := map[string]string{"contents": "write", "issues": "write", "pull_requests": "write", "metadata": "read"}
	f.AddInstallation(ghapp.Installation{ID: 123456, Account: "actions", AccountType: "Organization", Repositories: []string{"create-github-app-token", "toolkit", "checkout", "failed-repo"}, Permissions: perms})
	f.AddInstallation(ghapp.Installation{ID: 654321, Account: "smockle", AccountType: "User", Repositories: []string{"dotfiles"}, Permissions: perms})
	rec := &recorder{next: f}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return &ghappEnv{fake: f, rec: rec, url: srv.URL + prefix, pem: ghapp.TestKey(0).PKCS1PEM()}, srv
}

func TestAction_CreateGitHubAppTokenSuite(t *testing.T) {
	t.Parallel()
	type env = ghappEnv
	thisRepo := []any{"create-github-app-token"}
	cases := []struct {
		name    string // the create-github-app-token test file
		verdict cgatVerdict
		why     string // for deliberate differences and improvements
		prefix  string
		inputs  map[string]string // besides provider, private-key, client-id, github-api-url
		context map[string]string // GITHUB_* overrides ("" unsets)
		setup   func(e *env)
		between func(t *testing.T, e *env, j *Job)
		// noMain runs post alone (a post scenario without a token in state).
		noMain     bool
		wantMain   int
		wantRoutes []string
		wantBodies []map[string]any
		wantPost   string
		check      func(t *testing.T, e *env, j *Job, main, post Phase)
	}{
		{
			name: "action-deprecated-inputs", verdict: cgatDeliberate,
			why:    "app-id is a supported alias of client-id (a drop-in replacement keeps workflows silent), so action.yml declares no deprecationMessage; it still says to use client-id",
			noMain: true, wantPost: postNothing,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				raw, err := os.ReadFile(filepath.Join(mustRoot(t), "action.yml"))
				if err != nil {
					t.Fatal(err)
				}
				var a struct {
					Inputs map[string]map[string]any `yaml:"inputs"`
				}
				if err := yaml.Unmarshal(raw, &a); err != nil {
					t.Fatal(err)
				}
				in, ok := a.Inputs["app-id"]
				if !ok || !strings.Contains(in["description"].(string), "alias of client-id") {
					t.Errorf("action.yml app-id = %v, want an alias of client-id", in)
				}
				if _, dep := in["deprecationMessage"]; dep {
					t.Errorf("app-id is deprecated in action.yml: docs/github-app.md says it is not")
				}
			},
		},
		{
			name: "main-app-id-fallback", verdict: cgatMatch,
			inputs:     map[string]string{"client-id": "", "app-id": strconv.Itoa(ghapp.DefaultAppID)},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": thisRepo}},
			wantPost:   postRevoked,
		},
		{
			name: "main-client-id-precedence", verdict: cgatDeliberate,
			why:      "client-id and app-id set to different values is refused as ambiguous (one ::error::, no request) instead of silently preferring client-id",
			inputs:   map[string]string{"app-id": "123456"},
			wantMain: 1, wantPost: postNothing,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if errs := errorLines(j); len(errs) != 1 || !strings.Contains(errs[0], `input "app-id"`) {
					t.Errorf("want one ::error:: naming app-id, got %q", errs)
				}
			},
		},
		{
			name: "main-client-id-precedence (same value)", verdict: cgatMatch,
			inputs:     map[string]string{"app-id": ghapp.DefaultClientID},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantPost:   postRevoked,
		},
		{
			name: "main-custom-github-api-url", verdict: cgatMatch, prefix: "/api/v3",
			inputs:     map[string]string{"owner": "actions", "repositories": "create-github-app-token"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": thisRepo}},
			wantPost:   postRevoked,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				for _, r := range e.fake.Requests() {
					if !strings.Contains(r, " /api/v3/") {
						t.Errorf("request %q is not under /api/v3", r)
					}
				}
			},
		},
		{
			name: "main-missing-client-and-app-id", verdict: cgatMatch,
			inputs:   map[string]string{"client-id": "", "app-id": ""},
			wantMain: 1, wantPost: postNothing,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if errs := errorLines(j); len(errs) != 1 || !strings.Contains(errs[0], `input "client-id"`) {
					t.Errorf("want one ::error:: naming client-id, got %q", errs)
				}
			},
		},
		{
			name: "main-missing-owner", verdict: cgatImprovement,
			why:        "GITHUB_REPOSITORY_OWNER missing: the owner comes from GITHUB_REPOSITORY (create-github-app-token throws)",
			context:    map[string]string{"GITHUB_REPOSITORY_OWNER": ""},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": thisRepo}},
			wantPost:   postRevoked,
		},
		{
			name: "main-missing-repository", verdict: cgatMatch,
			context:  map[string]string{"GITHUB_REPOSITORY": ""},
			wantMain: 1, wantPost: postNothing,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if errs := errorLines(j); len(errs) != 1 || !strings.Contains(errs[0], "GITHUB_REPOSITORY") {
					t.Errorf("want one ::error:: about GITHUB_REPOSITORY, got %q", errs)
				}
			},
		},
		{
			name: "main-private-key-with-escaped-newlines", verdict: cgatMatch,
			inputs:     map[string]string{"private-key": ghapp.TestKey(0).EscapedPEM()},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantPost:   postRevoked,
		},
		{
			name: "main-proxy-requires-native-support", verdict: cgatImprovement,
			why:        "Go honours HTTPS_PROXY/NO_PROXY natively (loopback is never proxied; TestAction_GitHubApp_proxy covers a real proxy): no NODE_USE_ENV_PROXY error",
			context:    map[string]string{"HTTPS_PROXY": "http://127.0.0.1:3128"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantPost:   postRevoked,
		},
		{
			name: "main-repo-skew", verdict: cgatMatch,
			inputs: map[string]string{"owner": "actions", "repositories": "failed-repo"},
			setup: func(e *env) {
				// The runner's clock is 90 s ahead of GitHub's.
				e.fake.Store.Now = func() time.Time { return time.Now().Add(-90 * time.Second) }
			},
			wantRoutes: []string{routeRepoInstall, routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": []any{"failed-repo"}}},
			wantPost:   postRevoked,
		},
		{
			name: "main-token-get-owner-set-fail-response", verdict: cgatDeliberate,
			why:    "owner without repositories asks /orgs/{org}/installation first, then /users/{user}/installation (create-github-app-token asks /users/ only); the 500 is retried the same way",
			inputs: map[string]string{"owner": "smockle"},
			setup: func(e *env) {
				e.fake.Push(routeUserInstall, fake.Fault{Status: 500, Body: "GitHub API not available"})
			},
			wantRoutes: []string{routeOrgInstall, routeUserInstall, routeUserInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{}},
			wantPost:   postRevoked,
		},
		{
			name: "main-token-get-owner-set-repo-fail-response", verdict: cgatMatch,
			inputs: map[string]string{"owner": "actions", "repositories": "failed-repo"},
			setup: func(e *env) {
				e.fake.Push(routeRepoInstall, fake.Fault{Status: 500, Body: "GitHub API not available"})
			},
			wantRoutes: []string{routeRepoInstall, routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": []any{"failed-repo"}}},
			wantPost:   postRevoked,
		},
		{
			name: "main-token-get-owner-set-repo-fail-response (500 forever)", verdict: cgatImprovement,
			why:    "a lookup that keeps failing is tried 4 times (create-github-app-token: 4), its error says the GET created nothing, and it is never retried as a create",
			inputs: map[string]string{"owner": "actions", "repositories": "failed-repo"},
			setup: func(e *env) {
				for range 30 {
					e.fake.Push(routeRepoInstall, fake.Fault{Status: 500, Body: "GitHub API not available"})
				}
			},
			wantMain:   1,
			wantRoutes: []string{routeRepoInstall, routeRepoInstall, routeRepoInstall, routeRepoInstall},
			wantPost:   postNothing,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				errs := errorLines(j)
				if len(errs) != 1 || !strings.Contains(errs[0], "created nothing") || !strings.Contains(errs[0], "500") {
					t.Errorf("want one ::error:: saying the lookup failed with 500 and created nothing, got %q", errs)
				}
				if strings.Contains(main.Stdout+main.Stderr, "ambiguous") {
					t.Errorf("a failed lookup was reported as an ambiguous create:\n%s", main.Stdout)
				}
			},
		},
		{
			name: "main-token-get-owner-set-repo-set-to-many-newline", verdict: cgatMatch,
			inputs:     map[string]string{"owner": "actions", "repositories": "\n create-github-app-token\ntoolkit \n\n checkout \n"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": []any{"create-github-app-token", "toolkit", "checkout"}}},
			wantPost:   postRevoked,
		},
		{
			name: "main-token-get-owner-set-repo-set-to-many", verdict: cgatMatch,
			inputs:     map[string]string{"owner": "actions", "repositories": " create-github-app-token, toolkit  ,checkout"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": []any{"create-github-app-token", "toolkit", "checkout"}}},
			wantPost:   postRevoked,
		},
		{
			name: "main-token-get-owner-set-repo-set-to-one", verdict: cgatMatch,
			inputs:     map[string]string{"owner": "actions", "repositories": "create-github-app-token"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": thisRepo}},
			wantPost:   postRevoked,
		},
		{
			name: "main-token-get-owner-set-repo-unset", verdict: cgatDeliberate,
			why:        "GET /orgs/actions/installation (then /users/ for a user) instead of /users/actions/installation, and the body is {} rather than null",
			inputs:     map[string]string{"owner": "actions"},
			wantRoutes: []string{routeOrgInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{}},
			wantPost:   postRevoked,
		},
		{
			name: "main-token-get-owner-unset-repo-set", verdict: cgatMatch,
			inputs:     map[string]string{"repositories": "create-github-app-token"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": thisRepo}},
			wantPost:   postRevoked,
		},
		{
			name: "main-token-get-owner-unset-repo-unset", verdict: cgatMatch,
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": thisRepo}},
			wantPost:   postRevoked,
		},
		{
			name: "main-token-permissions-set", verdict: cgatMatch,
			inputs:     map[string]string{"permission-issues": "write", "permission-pull-requests": "read"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantBodies: []map[string]any{{"repositories": thisRepo, "permissions": map[string]any{"issues": "write", "pull_requests": "read"}}},
			wantPost:   postRevoked,
		},
		{
			name: "post-proxy-requires-native-support", verdict: cgatImprovement,
			why: "post honours HTTPS_PROXY natively too: the revocation goes out",
			between: func(t *testing.T, e *env, j *Job) {
				j.Env["HTTPS_PROXY"] = "http://127.0.0.1:3128"
			},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantPost:   postRevoked,
		},
		{
			name: "post-revoke-token-fail-response", verdict: cgatDeliberate,
			why: "a 401 on DELETE /installation/token means GitHub no longer accepts the token (expired or revoked): success, no warning; other failures warn naming the token (TestAction_GitHubApp/revoke_failure_warns_naming_the_token)",
			setup: func(e *env) {
				e.fake.Push(routeRevoke, fake.Fault{Status: 401, Body: `{"message":"Bad credentials"}`})
			},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if strings.Contains(post.Stdout, "::warning") || strings.Contains(post.Stdout, "::error") {
					t.Errorf("post warned on a 401:\n%s", post.Stdout)
				}
			},
		},
		{
			name: "post-token-expired", verdict: cgatMatch,
			between: func(t *testing.T, e *env, j *Job) {
				j.State["expires-at"] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
			},
			wantRoutes: []string{routeRepoInstall, routeAccessToken},
			wantPost:   postNothing,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if !strings.Contains(post.Stdout, "expired") {
					t.Errorf("post did not say the token expired:\n%s", post.Stdout)
				}
			},
		},
		{
			name: "post-token-set", verdict: cgatMatch,
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantPost:   postRevoked,
		},
		{
			name: "post-token-skipped", verdict: cgatMatch,
			inputs:     map[string]string{"skip-token-revoke": "true"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken},
			wantPost:   postNothing,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if !strings.Contains(post.Stdout, "::notice::") {
					t.Errorf("post did not say revocation was skipped:\n%s", post.Stdout)
				}
			},
		},
		{
			name: "post-token-skipped (skip-token-revoke: false revokes)", verdict: cgatMatch,
			inputs:     map[string]string{"skip-token-revoke": "false"},
			wantRoutes: []string{routeRepoInstall, routeAccessToken, routeRevoke},
			wantPost:   postRevoked,
		},
		{
			name: "post-token-unset", verdict: cgatMatch,
			noMain: true, wantPost: postNothing,
			check: func(t *testing.T, e *env, j *Job, main, post Phase) {
				if strings.Contains(post.Stdout, "::warning") || strings.Contains(post.Stdout, "::error") {
					t.Errorf("post with nothing minted was not quiet:\n%s", post.Stdout)
				}
			},
		},
	}
	counts := map[cgatVerdict]int{}
	for _, tc := range cases {
		counts[tc.verdict]++
		if tc.verdict != cgatMatch && tc.why == "" {
			t.Errorf("%s: a %s needs a why", tc.name, tc.verdict)
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, _ := newCGATApp(t, tc.prefix)
			if tc.setup != nil {
				tc.setup(e)
			}
			in := map[string]string{
				"provider": "github-app", "private-key": e.pem, "client-id": ghapp.DefaultClientID, "github-api-url": e.url,
			}
			for k, v := range tc.inputs {
				in[k] = v
			}
			j := NewJob(t, in)
			j.Context["GITHUB_REPOSITORY"] = "actions/create-github-app-token"
			j.Context["GITHUB_REPOSITORY_OWNER"] = "actions"
			for k, v := range tc.context {
				j.Context[k] = v
			}
			var main Phase
			if !tc.noMain {
				main = j.Main(t)
				if main.ExitCode != tc.wantMain {
					t.Fatalf("main exit %d, want %d\n%s%s", main.ExitCode, tc.wantMain, main.Stdout, main.Stderr)
				}
			}
			if tc.between != nil {
				tc.between(t, e, j)
			}
			post := j.Post(t)
			if post.ExitCode != 0 {
				t.Fatalf("post exit %d\n%s%s", post.ExitCode, post.Stdout, post.Stderr)
			}
			t.Logf("%s (%s) main:\n%s%s\npost:\n%s%s", tc.name, tc.verdict, main.Stdout, main.Stderr, post.Stdout, post.Stderr)
			if diff := cmp.Diff(tc.wantRoutes, e.routes()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if tc.wantBodies != nil {
				if diff := cmp.Diff(tc.wantBodies, e.rec.tokenBodies(t)); diff != "" {
					t.Errorf("access-token bodies (-want +got):\n%s", diff)
				}
			}
			toks := e.fake.Tokens()
			if tc.wantMain == 0 && !tc.noMain {
				if len(toks) != 1 {
					t.Fatalf("%d tokens issued, want 1", len(toks))
				}
				want := map[string]string{"token": toks[0].Token, "installation-id": strconv.FormatInt(toks[0].InstallationID, 10), "app-slug": "github-actions"}
				got := map[string]string{"token": j.Outputs["token"], "installation-id": j.Outputs["installation-id"], "app-slug": j.Outputs["app-slug"]}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("create-github-app-token's outputs (-want +got):\n%s", diff)
				}
			}
			switch tc.wantPost {
			case postRevoked:
				if len(toks) != 1 || !toks[0].Revoked {
					t.Errorf("post did not revoke the token")
				}
			case postNothing:
				for _, r := range e.routes() {
					if r == routeRevoke {
						t.Errorf("post sent %s", r)
					}
				}
			}
			ghappHygiene(t, j, e, e.pem, in["private-key"])
			if tc.check != nil {
				tc.check(t, e, j, main, post)
			}
		})
	}
	t.Logf("create-github-app-token v3.1.1 scenarios: %d match, %d deliberate, %d improvement", counts[cgatMatch], counts[cgatDeliberate], counts[cgatImprovement])
}

func mustRoot(t *testing.T) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
