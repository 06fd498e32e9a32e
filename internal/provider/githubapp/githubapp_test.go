package githubapp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/fake/ghapp"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/githubapp"
	"github.com/tokenmint/tokenmint/internal/redact"
)

type env struct {
	fake *ghapp.Server
	srv  *httptest.Server
	p    provider.Provider
	opts provider.Options
}

// newEnv starts the default fake (octo-org: alpha, beta, gamma; octocat:
// hello-world) under prefix and a provider pointed at it.
func newEnv(t *testing.T, prefix string, mutate ...func(*provider.Options)) *env {
	t.Helper()
	f := ghapp.NewDefault(prefix)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	o := provider.Options{
		APIURL:   srv.URL + prefix,
		ClientID: ghapp.DefaultClientID,
		AdminKey: redact.Secret(ghapp.TestKey(0).PKCS1PEM()),
		HTTP:     httpx.New(httpx.WithBackoff(time.Millisecond, 2*time.Millisecond), httpx.WithTimeout(5*time.Second)),
	}
	for _, m := range mutate {
		m(&o)
	}
	p, err := githubapp.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{fake: f, srv: srv, p: p, opts: o}
}

// noSecrets fails when text holds the private key or any issued token.
func (e *env) noSecrets(t *testing.T, text string) {
	t.Helper()
	for _, s := range append(e.fake.Store.Secrets(), ghapp.TestKey(0).PKCS1PEM()) {
		for _, f := range redact.Forms(s) {
			if len(f) >= 12 && strings.Contains(text, f) {
				t.Errorf("text leaks a secret: %q", text)
			}
		}
	}
	if strings.Contains(text, "PRIVATE KEY") || strings.Contains(text, "ghs_") {
		t.Errorf("text leaks key or token material: %q", text)
	}
}

func TestClient_Mint_targets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		owner        string
		repositories []string
		current      string
		wantRoutes   []string
		wantRepos    []string // what the fake recorded (nil: all)
		wantInstall  string   // account
	}{
		{
			name: "no_owner_no_repositories_is_current_repository", current: "octo-org/beta",
			wantRoutes: []string{ghapp.RouteRepoInstall, ghapp.RouteAccessToken}, wantRepos: []string{"beta"}, wantInstall: ghapp.DefaultOrg,
		},
		{
			name: "owner_only_org_is_every_repository", owner: "octo-org",
			wantRoutes: []string{ghapp.RouteOrgInstall, ghapp.RouteAccessToken}, wantInstall: ghapp.DefaultOrg,
		},
		{
			name: "owner_only_user_falls_back_to_users", owner: "octocat",
			wantRoutes: []string{ghapp.RouteOrgInstall, ghapp.RouteUserInstall, ghapp.RouteAccessToken}, wantInstall: ghapp.DefaultUser,
		},
		{
			name: "owner_and_repositories", owner: "octo-org", repositories: []string{"alpha", "octo-org/gamma", "ALPHA"},
			wantRoutes: []string{ghapp.RouteRepoInstall, ghapp.RouteAccessToken}, wantRepos: []string{"alpha", "gamma"}, wantInstall: ghapp.DefaultOrg,
		},
		{
			name: "repositories_only_in_current_owner", repositories: []string{"gamma"}, current: "octo-org/alpha",
			wantRoutes: []string{ghapp.RouteRepoInstall, ghapp.RouteAccessToken}, wantRepos: []string{"gamma"}, wantInstall: ghapp.DefaultOrg,
		},
		{
			name: "repositories_only_naming_their_owner", repositories: []string{"octocat/hello-world"}, current: "octo-org/alpha",
			wantRoutes: []string{ghapp.RouteRepoInstall, ghapp.RouteAccessToken}, wantRepos: []string{"hello-world"}, wantInstall: ghapp.DefaultUser,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "")
			owner, repos, err := githubapp.ResolveTarget(tc.owner, tc.repositories, tc.current)
			if err != nil {
				t.Fatalf("ResolveTarget: %v", err)
			}
			req := provider.MintRequest{Name: "n", Owner: owner, Repositories: repos}
			if err := githubapp.Spec.Check(e.opts, req); err != nil {
				t.Fatalf("Check: %v", err)
			}
			tok, err := e.p.Mint(context.Background(), req)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			routes := e.fake.Requests()
			if diff := cmp.Diff(tc.wantRoutes, routes); diff != "" {
				t.Errorf("routes (-want +got):\n%s", diff)
			}
			issued := e.fake.Tokens()
			if len(issued) != 1 {
				t.Fatalf("fake issued %d tokens, want 1", len(issued))
			}
			if diff := cmp.Diff(tc.wantRepos, issued[0].Repositories); diff != "" {
				t.Errorf("token repositories (-want +got):\n%s", diff)
			}
			if tok.Secret.Reveal() != issued[0].Token {
				t.Errorf("returned secret is not the issued token")
			}
			if !e.fake.Valid(tok.Secret.Reveal()) {
				t.Errorf("token is not valid at the fake")
			}
			wantExtra := map[string]string{githubapp.ExtraInstallationID: itoa(issued[0].InstallationID), githubapp.ExtraAppSlug: ghapp.DefaultSlug}
			if diff := cmp.Diff(wantExtra, tok.Extra); diff != "" {
				t.Errorf("Extra (-want +got):\n%s", diff)
			}
			if got, want := tok.ExpiresAt, issued[0].ExpiresAt; !got.Equal(want) {
				t.Errorf("ExpiresAt = %v, want %v", got, want)
			}
			if !strings.HasPrefix(tok.ID, "installation-"+wantExtra[githubapp.ExtraInstallationID]+"-") {
				t.Errorf("ID = %q, want installation-<id>-<digest>", tok.ID)
			}
			e.noSecrets(t, tok.ID)
			if tok.Name != "n" {
				t.Errorf("Name = %q, want the requested name", tok.Name)
			}
			if got := installAccount(t, e, tok); got != tc.wantInstall {
				t.Errorf("installation account = %q, want %q", got, tc.wantInstall)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestClient_Mint_permissions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		perms      map[string]string
		wantScopes []string
		wantStatus int // 0: success
	}{
		{name: "narrowed_to_requested", perms: map[string]string{"contents": "read", "issues": "write"}, wantScopes: []string{"contents:read", "issues:write"}},
		{name: "none_requested_is_everything_granted", perms: nil, wantScopes: githubapp.FormatPermissions(ghapp.DefaultPermissions)},
		{name: "not_granted_is_refused", perms: map[string]string{"administration": "read"}, wantStatus: http.StatusUnprocessableEntity},
		{name: "level_above_grant_is_refused", perms: map[string]string{"metadata": "write"}, wantStatus: http.StatusUnprocessableEntity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "")
			tok, err := e.p.Mint(context.Background(), provider.MintRequest{Owner: "octo-org", Repositories: []string{"alpha"}, Permissions: tc.perms})
			if tc.wantStatus != 0 {
				if got := httpx.StatusOf(err); got != tc.wantStatus {
					t.Fatalf("Mint error status = %d (%v), want %d", got, err, tc.wantStatus)
				}
				e.noSecrets(t, err.Error())
				if n := len(e.fake.Tokens()); n != 0 {
					t.Errorf("fake issued %d tokens, want 0", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			if diff := cmp.Diff(tc.wantScopes, tok.Scopes); diff != "" {
				t.Errorf("Scopes (-want +got):\n%s", diff)
			}
			got := e.fake.Tokens()[0].Permissions
			if diff := cmp.Diff(tc.wantScopes, githubapp.FormatPermissions(got)); diff != "" {
				t.Errorf("permissions the fake granted (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClient_Mint_bodySent checks the exact JSON body: repositories and
// permissions as asked, nothing else; no repositories key for owner-only.
func TestClient_Mint_bodySent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		req  provider.MintRequest
		want string
	}{
		{name: "repositories_and_permissions", req: provider.MintRequest{Owner: "octo-org", Repositories: []string{"alpha", "beta"}, Permissions: map[string]string{"contents": "read"}},
			want: `{"permissions":{"contents":"read"},"repositories":["alpha","beta"]}`},
		{name: "owner_only_sends_no_repositories", req: provider.MintRequest{Owner: "octo-org"}, want: `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ghapp.NewDefault("")
			var mu sync.Mutex
			var body string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/access_tokens") {
					b, _ := io.ReadAll(r.Body)
					mu.Lock()
					body = string(b)
					mu.Unlock()
					r.Body = io.NopCloser(bytes.NewReader(b))
				}
				f.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			p, err := githubapp.New(provider.Options{APIURL: srv.URL, ClientID: ghapp.DefaultClientID, AdminKey: redact.Secret(ghapp.TestKey(0).PKCS1PEM())})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Mint(context.Background(), tc.req); err != nil {
				t.Fatalf("Mint: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tc.want, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClient_Mint_ghesBase(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"/api/v3", "/api/v3/"} {
		t.Run(strings.ReplaceAll(strings.Trim(base, "/"), "/", "_")+map[bool]string{true: "_trailing_slash", false: ""}[strings.HasSuffix(base, "/")], func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "/api/v3", func(o *provider.Options) { o.APIURL = strings.TrimSuffix(o.APIURL, "/api/v3") + base })
			tok, err := e.p.Mint(context.Background(), provider.MintRequest{Owner: "octo-org", Repositories: []string{"alpha"}})
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			if err := e.p.Revoke(context.Background(), *tok); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			want := map[string]int{ghapp.RouteRepoInstall: 1, ghapp.RouteAccessToken: 1, ghapp.RouteRevoke: 1}
			got := map[string]int{}
			for r := range want {
				got[r] = e.fake.Count(r)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("requests under /api/v3 (-want +got):\n%s", diff)
			}
			if e.fake.Valid(tok.Secret.Reveal()) {
				t.Errorf("token still valid after Revoke")
			}
		})
	}
}

func TestClient_Mint_missingInstallation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		req   provider.MintRequest
		owner string
	}{
		{name: "owner_without_installation", req: provider.MintRequest{Owner: "nobody-here"}, owner: "nobody-here"},
		{name: "repository_outside_installation", req: provider.MintRequest{Owner: "octo-org", Repositories: []string{"secret-repo"}}, owner: "octo-org"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "")
			_, err := e.p.Mint(context.Background(), tc.req)
			if !errors.Is(err, githubapp.ErrNotInstalled) {
				t.Fatalf("Mint error = %v, want ErrNotInstalled", err)
			}
			if httpx.StatusOf(err) != http.StatusNotFound {
				t.Errorf("status = %d, want 404 in the chain", httpx.StatusOf(err))
			}
			if !strings.Contains(err.Error(), "install the App on "+tc.owner) {
				t.Errorf("error does not name the owner and say to install the App: %v", err)
			}
			if httpx.Ambiguous(err) {
				t.Errorf("a missing installation must not be retried as ambiguous")
			}
			if n := e.fake.Count(ghapp.RouteAccessToken); n != 0 {
				t.Errorf("access_tokens called %d times, want 0", n)
			}
		})
	}
}

func TestClient_Mint_jwt(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		clientID string
		key      string
		wantErr  bool
	}{
		{name: "client_id", clientID: ghapp.DefaultClientID, key: ghapp.TestKey(0).PKCS1PEM()},
		{name: "numeric_app_id", clientID: "424242", key: ghapp.TestKey(0).PKCS8PEM()},
		{name: "escaped_newlines", clientID: ghapp.DefaultClientID, key: ghapp.TestKey(0).EscapedPEM()},
		{name: "another_apps_key", clientID: ghapp.DefaultClientID, key: ghapp.TestKey(1).PKCS1PEM(), wantErr: true},
		{name: "another_app_id", clientID: "7", key: ghapp.TestKey(0).PKCS1PEM(), wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "", func(o *provider.Options) { o.ClientID = tc.clientID; o.AdminKey = redact.Secret(tc.key) })
			_, err := e.p.Mint(context.Background(), provider.MintRequest{Owner: "octo-org"})
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Mint: %v", err)
				}
				return
			}
			var le *githubapp.LookupError
			if !errors.As(err, &le) || httpx.StatusOf(le.Err) != http.StatusUnauthorized {
				t.Fatalf("Mint error = %v, want a *LookupError with a 401", err)
			}
			if !strings.Contains(err.Error(), "client-id and admin-key") {
				t.Errorf("error gives no hint: %v", err)
			}
			e.noSecrets(t, err.Error())
		})
	}
}

func TestJWT_claims(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s, err := githubapp.JWT(ghapp.TestKey(0).Private, "Iv23liX", now)
	if err != nil {
		t.Fatal(err)
	}
	claims := &jwt.RegisteredClaims{}
	tok, err := jwt.ParseWithClaims(s, claims, func(*jwt.Token) (any, error) { return &ghapp.TestKey(0).Private.PublicKey, nil },
		jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithValidMethods([]string{"RS256"}))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	got := map[string]any{"alg": tok.Header["alg"], "iss": claims.Issuer, "iat": claims.IssuedAt.Time.UTC(), "exp": claims.ExpiresAt.Time.UTC()}
	want := map[string]any{"alg": "RS256", "iss": "Iv23liX", "iat": now.Add(-time.Minute), "exp": now.Add(9 * time.Minute)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

func TestClient_Revoke(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		faults     []fake.Fault
		prepare    func(t *testing.T, e *env, tok *provider.Token) // after mint
		wantErr    bool
		wantCalls  int
		wantRevoke bool // the fake marks the token revoked
	}{
		{name: "revokes", wantCalls: 1, wantRevoke: true},
		{name: "already_revoked_401_is_success", prepare: func(t *testing.T, e *env, tok *provider.Token) {
			if err := e.p.Revoke(context.Background(), *tok); err != nil {
				t.Fatal(err)
			}
			e.fake.ResetCounts()
		}, wantCalls: 1, wantRevoke: true},
		{name: "not_found_404_is_success", faults: []fake.Fault{{Status: 404, Body: `{"message":"Not Found"}`}}, wantCalls: 1},
		{name: "retries_5xx", faults: []fake.Fault{{Status: 502, Body: "bad gateway"}, {Status: 500, Body: `{"message":"oops"}`}}, wantCalls: 3, wantRevoke: true},
		{name: "retries_429", faults: []fake.Fault{{Status: 429, Body: `{"message":"slow down"}`}}, wantCalls: 2, wantRevoke: true},
		{name: "retries_dropped_connection", faults: []fake.Fault{{Drop: true}}, wantCalls: 2, wantRevoke: true},
		{name: "gives_up_on_403", faults: []fake.Fault{{Status: 403, Body: `{"message":"Resource not accessible by integration"}`}}, wantErr: true, wantCalls: 1},
		{name: "expired_token_sends_nothing", prepare: func(t *testing.T, e *env, tok *provider.Token) {
			tok.ExpiresAt = time.Now().Add(-time.Second)
			e.fake.ResetCounts()
		}, wantCalls: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "")
			tok, err := e.p.Mint(context.Background(), provider.MintRequest{Owner: "octo-org"})
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			if tc.prepare != nil {
				tc.prepare(t, e, tok)
			}
			e.fake.Push(ghapp.RouteRevoke, tc.faults...)
			// Revocation needs only the secret and expiry (what state holds).
			err = e.p.Revoke(context.Background(), provider.Token{Secret: tok.Secret, ExpiresAt: tok.ExpiresAt})
			if (err != nil) != tc.wantErr {
				t.Fatalf("Revoke error = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				e.noSecrets(t, err.Error())
			}
			if got := e.fake.Count(ghapp.RouteRevoke); got != tc.wantCalls {
				t.Errorf("revoke requests = %d, want %d", got, tc.wantCalls)
			}
			if got := !e.fake.Valid(tok.Secret.Reveal()) && tok.ExpiresAt.After(time.Now()); got != tc.wantRevoke {
				t.Errorf("token revoked at the fake = %v, want %v", got, tc.wantRevoke)
			}
		})
	}
}

func TestClient_Revoke_needsSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	err := e.p.Revoke(context.Background(), provider.Token{ID: "installation-1-abc"})
	if err == nil {
		t.Fatal("Revoke without the token succeeded")
	}
	if n := e.fake.Total(); n != 0 {
		t.Errorf("sent %d requests, want 0", n)
	}
}

func TestClient_Revoke_bearerScheme(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	tok, err := e.p.Mint(context.Background(), provider.MintRequest{Owner: "octo-org"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/installation/token", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Secret.Reveal())
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("status = %d, want 204", resp.StatusCode)
	}
}

func TestClient_List(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	if _, err := e.p.List(context.Background(), "x"); !errors.Is(err, provider.ErrNotSupported) {
		t.Errorf("List error = %v, want ErrNotSupported", err)
	}
}

func TestClient_Mint_noOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	_, err := e.p.Mint(context.Background(), provider.MintRequest{})
	var ie *inputerr.Error
	if !errors.As(err, &ie) || ie.Input != "owner" {
		t.Fatalf("Mint error = %v, want an input error on owner", err)
	}
	if n := e.fake.Total(); n != 0 {
		t.Errorf("sent %d requests, want 0", n)
	}
}

// TestMint_throughSafeLoop: ledger.Mint (the create-safely loop) works with
// a provider that cannot list: an ambiguous create is retried under the
// next name, and the clean-up of the lost one is reported unconfirmed.
func TestMint_throughSafeLoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.fake.Push(ghapp.RouteAccessToken, fake.Fault{Status: 502, Body: "upstream"})
	l, err := ledger.New(ledger.Options{Prefix: "n"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ledger.Mint(context.Background(), e.p, provider.MintRequest{Owner: "octo-org"}, l, ledger.MintOptions{
		Backoff: time.Millisecond, Provider: "github-app",
	})
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	if !e.fake.Valid(tok.Secret.Reveal()) {
		t.Errorf("token not valid")
	}
	if got := e.fake.Count(ghapp.RouteAccessToken); got != 2 {
		t.Errorf("access_tokens requests = %d, want 2", got)
	}
	p := l.Problem()
	if p == nil || !p.CannotList || len(p.Names) != 1 || p.Names[0] != l.Name(1) {
		t.Errorf("Problem() = %+v, want the first name, unconfirmed because the provider cannot list", p)
	}
}

// installAccount asks the fake which account the token's installation is on.
func installAccount(t *testing.T, e *env, tok *provider.Token) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/installation/repositories", nil)
	req.Header.Set("Authorization", "token "+tok.Secret.Reveal())
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Repositories []struct {
			FullName string `json:"full_name"`
		} `json:"repositories"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Repositories) == 0 {
		t.Fatalf("installation repositories: %v (%d)", err, len(body.Repositories))
	}
	o, _, _ := strings.Cut(body.Repositories[0].FullName, "/")
	return o
}

// TestClient_Mint_lookupFailureIsNotACreate: an installation lookup that
// keeps failing is tried LookupAttempts times, and its error is not
// ambiguous (a GET created nothing), so no caller retries it as a create.
func TestClient_Mint_lookupFailureIsNotACreate(t *testing.T) {
	t.Parallel()
	for _, route := range []string{ghapp.RouteRepoInstall, ghapp.RouteOrgInstall} {
		t.Run(route, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "")
			for range 10 {
				e.fake.Push(route, fake.Fault{Status: 500, Body: "GitHub API not available"})
			}
			req := provider.MintRequest{Owner: "octo-org"}
			if route == ghapp.RouteRepoInstall {
				req.Repositories = []string{"alpha"}
			}
			_, err := e.p.Mint(context.Background(), req)
			var le *githubapp.LookupError
			if !errors.As(err, &le) || httpx.StatusOf(le.Err) != 500 {
				t.Fatalf("Mint error = %v, want a *LookupError holding the 500", err)
			}
			if httpx.Ambiguous(err) || httpx.StatusOf(err) != 0 {
				t.Errorf("a failed lookup reads as an ambiguous create (status %d in the chain)", httpx.StatusOf(err))
			}
			if got := e.fake.Count(route); got != githubapp.LookupAttempts {
				t.Errorf("lookup sent %d times, want %d", got, githubapp.LookupAttempts)
			}
			if n := e.fake.Count(ghapp.RouteAccessToken); n != 0 {
				t.Errorf("access_tokens called %d times after a failed lookup", n)
			}
			if !strings.Contains(err.Error(), "created nothing") {
				t.Errorf("error does not say that nothing was created: %v", err)
			}
		})
	}
}

// TestClient_Mint_clockSkew: with the runner's clock off (ahead: GitHub
// refuses the iat; behind: the exp), the first refusal's Date header
// corrects the clock, the request is retried once, and the correction is
// kept: a second mint needs no second refusal.
func TestClient_Mint_clockSkew(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		skew time.Duration // runner clock minus GitHub's
	}{
		{name: "runner_90s_ahead", skew: 90 * time.Second},
		{name: "runner_15m_ahead", skew: 15 * time.Minute},
		{name: "runner_15m_behind", skew: -15 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "", func(o *provider.Options) { o.Now = func() time.Time { return time.Now().Add(tc.skew) } })
			rec := &statusRecorder{next: e.fake}
			e.srv.Config.Handler = rec
			for i := range 2 {
				tok, err := e.p.Mint(context.Background(), provider.MintRequest{Owner: "octo-org", Repositories: []string{"alpha"}})
				if err != nil {
					t.Fatalf("mint %d: %v", i+1, err)
				}
				e.noSecrets(t, tok.ID)
			}
			want := []int{401, 200, 201, 200, 201}
			if diff := cmp.Diff(want, rec.codes()); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("synchronised_clock_is_never_refused", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, "")
		rec := &statusRecorder{next: e.fake}
		e.srv.Config.Handler = rec
		if _, err := e.p.Mint(context.Background(), provider.MintRequest{Owner: "octo-org", Repositories: []string{"alpha"}}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int{200, 201}, rec.codes()); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
	})
}

// statusRecorder records the status of every answer.
type statusRecorder struct {
	next http.Handler
	mu   sync.Mutex
	seen []int
}

func (s *statusRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &codeWriter{ResponseWriter: w, code: 200}
	s.next.ServeHTTP(rw, r)
	s.mu.Lock()
	s.seen = append(s.seen, rw.code)
	s.mu.Unlock()
}

func (s *statusRecorder) codes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.seen...)
}

type codeWriter struct {
	http.ResponseWriter
	code int
}

func (c *codeWriter) WriteHeader(code int) { c.code = code; c.ResponseWriter.WriteHeader(code) }
