package ghapp_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/fake/ghapp"
	"github.com/tokenmint/tokenmint/internal/fake/ghoracle"
)

func appJWT(t *testing.T, method jwt.SigningMethod, key any, iss string, iat, exp time.Time) string {
	t.Helper()
	c := jwt.MapClaims{"iss": iss, "iat": iat.Unix(), "exp": exp.Unix()}
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t *testing.T, h http.Handler, method, path, auth, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return rec.Code, m
}

func TestServer_appAuth(t *testing.T) {
	t.Parallel()
	now := time.Now()
	k0, k1 := ghapp.TestKey(0).Private, ghapp.TestKey(1).Private
	id := strconv.Itoa(ghapp.DefaultAppID)
	cases := []struct {
		name string
		auth func(t *testing.T) string
		want int
	}{
		{name: "client_id_issuer", auth: func(t *testing.T) string {
			return "Bearer " + appJWT(t, jwt.SigningMethodRS256, k0, ghapp.DefaultClientID, now.Add(-time.Minute), now.Add(9*time.Minute))
		}, want: 200},
		{name: "app_id_issuer", auth: func(t *testing.T) string {
			return "Bearer " + appJWT(t, jwt.SigningMethodRS256, k0, id, now.Add(-time.Minute), now.Add(9*time.Minute))
		}, want: 200},
		{name: "missing", auth: func(*testing.T) string { return "" }, want: 401},
		{name: "another_key", auth: func(t *testing.T) string {
			return "Bearer " + appJWT(t, jwt.SigningMethodRS256, k1, id, now.Add(-time.Minute), now.Add(9*time.Minute))
		}, want: 401},
		{name: "another_issuer", auth: func(t *testing.T) string {
			return "Bearer " + appJWT(t, jwt.SigningMethodRS256, k0, "1", now.Add(-time.Minute), now.Add(9*time.Minute))
		}, want: 401},
		{name: "expired", auth: func(t *testing.T) string {
			return "Bearer " + appJWT(t, jwt.SigningMethodRS256, k0, id, now.Add(-20*time.Minute), now.Add(-10*time.Minute))
		}, want: 401},
		{name: "exp_too_far", auth: func(t *testing.T) string {
			return "Bearer " + appJWT(t, jwt.SigningMethodRS256, k0, id, now.Add(-time.Minute), now.Add(15*time.Minute))
		}, want: 401},
		{name: "iat_in_future", auth: func(t *testing.T) string {
			return "Bearer " + appJWT(t, jwt.SigningMethodRS256, k0, id, now.Add(5*time.Minute), now.Add(9*time.Minute))
		}, want: 401},
		{name: "hs256_with_public_key_bytes", auth: func(t *testing.T) string {
			return "Bearer " + appJWT(t, jwt.SigningMethodHS256, []byte("whatever"), id, now.Add(-time.Minute), now.Add(9*time.Minute))
		}, want: 401},
		{name: "alg_none", auth: func(t *testing.T) string {
			return "Bearer " + appJWT(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, id, now.Add(-time.Minute), now.Add(9*time.Minute))
		}, want: 401},
		{name: "installation_token_is_not_a_jwt", auth: func(*testing.T) string { return "token ghs_abc" }, want: 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := ghapp.NewDefault("")
			got, _ := do(t, s, http.MethodGet, "/orgs/octo-org/installation", tc.auth(t), "")
			if got != tc.want {
				t.Errorf("status = %d, want %d", got, tc.want)
			}
		})
	}
}

func goodAuth(t *testing.T) string {
	now := time.Now()
	return "Bearer " + appJWT(t, jwt.SigningMethodRS256, ghapp.TestKey(0).Private, ghapp.DefaultClientID, now.Add(-time.Minute), now.Add(9*time.Minute))
}

func TestServer_installations(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, path string
		want       int
		account    string
	}{
		{name: "org", path: "/orgs/octo-org/installation", want: 200, account: "octo-org"},
		{name: "org_route_for_user_is_404", path: "/orgs/octocat/installation", want: 404},
		{name: "user", path: "/users/octocat/installation", want: 200, account: "octocat"},
		{name: "user_route_finds_org_too", path: "/users/octo-org/installation", want: 200, account: "octo-org"},
		{name: "repo", path: "/repos/octo-org/beta/installation", want: 200, account: "octo-org"},
		{name: "repo_case_insensitive", path: "/repos/Octo-Org/BETA/installation", want: 200, account: "octo-org"},
		{name: "repo_not_in_installation", path: "/repos/octo-org/nope/installation", want: 404},
		{name: "unknown_owner", path: "/orgs/nobody/installation", want: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := ghapp.NewDefault("")
			got, body := do(t, s, http.MethodGet, tc.path, goodAuth(t), "")
			if got != tc.want {
				t.Fatalf("status = %d, want %d", got, tc.want)
			}
			if tc.want != 200 {
				return
			}
			acc, _ := body["account"].(map[string]any)
			if acc["login"] != tc.account || body["app_slug"] != ghapp.DefaultSlug {
				t.Errorf("installation = %v", body)
			}
		})
	}
}

func installationID(t *testing.T, s http.Handler, owner string) string {
	t.Helper()
	code, body := do(t, s, http.MethodGet, "/users/"+owner+"/installation", goodAuth(t), "")
	if code != 200 {
		t.Fatalf("installation lookup: %d", code)
	}
	return strconv.FormatFloat(body["id"].(float64), 'f', 0, 64)
}

// expectInvalid tells the OpenAPI oracle that h's requests are invalid
// on purpose (the fake's own refusals are under test).
func expectInvalid(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set(ghoracle.ExpectInvalid, "1")
		h.ServeHTTP(w, r)
	})
}

func TestServer_accessTokens(t *testing.T) {
	t.Parallel()
	many, _ := json.Marshal(map[string]any{"repositories": make([]string, 501)})
	cases := []struct {
		name      string
		body      string
		install   string // "" = octo-org's
		want      int
		wantPerms map[string]any
		invalid   bool // GitHub's description refuses the body too
	}{
		{name: "narrowed", body: `{"repositories":["alpha"],"permissions":{"contents":"read"}}`, want: 201, wantPerms: map[string]any{"contents": "read"}},
		{name: "everything", body: `{}`, want: 201},
		{name: "repository_not_in_installation", body: `{"repositories":["nope"]}`, want: 422},
		{name: "full_name_is_refused", body: `{"repositories":["octo-org/alpha"]}`, want: 422},
		{name: "too_many_repositories", body: string(many), want: 422},
		{name: "permission_not_granted", body: `{"permissions":{"administration":"read"}}`, want: 422},
		{name: "level_above_grant", body: `{"permissions":{"metadata":"write"}}`, want: 422},
		{name: "bad_level", body: `{"permissions":{"contents":"owner"}}`, want: 422, invalid: true},
		{name: "unknown_field", body: `{"repos":["alpha"]}`, want: 400, invalid: true},
		{name: "not_json", body: `repositories=alpha`, want: 400, invalid: true},
		{name: "unknown_installation", body: `{}`, install: "999", want: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := ghapp.NewDefault("")
			id := tc.install
			if id == "" {
				id = installationID(t, s, "octo-org")
			}
			var h http.Handler = s
			if tc.invalid {
				h = expectInvalid(s)
			}
			got, body := do(t, h, http.MethodPost, "/app/installations/"+id+"/access_tokens", goodAuth(t), tc.body)
			if got != tc.want {
				t.Fatalf("status = %d (%v), want %d", got, body, tc.want)
			}
			if got != 201 {
				if n := len(s.Tokens()); n != 0 {
					t.Errorf("issued %d tokens on a refusal", n)
				}
				return
			}
			tok, _ := body["token"].(string)
			if !strings.HasPrefix(tok, "ghs_") || len(tok) != 40 || !s.Valid(tok) {
				t.Errorf("token %q: want a valid ghs_ token of 40 characters", tok)
			}
			exp, err := time.Parse(time.RFC3339, body["expires_at"].(string))
			if err != nil || time.Until(exp) < 59*time.Minute || time.Until(exp) > time.Hour {
				t.Errorf("expires_at = %v, want about an hour ahead", body["expires_at"])
			}
			if tc.wantPerms != nil {
				if diff := cmp.Diff(tc.wantPerms, body["permissions"]); diff != "" {
					t.Errorf("permissions (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestServer_revoke(t *testing.T) {
	t.Parallel()
	s := ghapp.NewDefault("")
	id := installationID(t, s, "octo-org")
	_, body := do(t, s, http.MethodPost, "/app/installations/"+id+"/access_tokens", goodAuth(t), `{}`)
	tok := body["token"].(string)
	steps := []struct {
		auth string
		want int
	}{
		{"", 401},
		{"token ghs_unknown", 401},
		{goodAuth(t), 401}, // an App JWT is not the installation token
		{"token " + tok, 204},
		{"token " + tok, 401}, // already revoked
		{"Bearer " + tok, 401},
	}
	var got []int
	for _, st := range steps {
		code, _ := do(t, s, http.MethodDelete, "/installation/token", st.auth, "")
		got = append(got, code)
	}
	var want []int
	for _, st := range steps {
		want = append(want, st.want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if s.Count(ghapp.RouteRevoke) != len(steps) {
		t.Errorf("Count = %d, want %d", s.Count(ghapp.RouteRevoke), len(steps))
	}
}

func TestServer_expiredTokenRefused(t *testing.T) {
	t.Parallel()
	s := ghapp.NewDefault("")
	id := installationID(t, s, "octo-org")
	_, body := do(t, s, http.MethodPost, "/app/installations/"+id+"/access_tokens", goodAuth(t), `{}`)
	tok := body["token"].(string)
	s.Store.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if code, _ := do(t, s, http.MethodDelete, "/installation/token", "token "+tok, ""); code != 401 {
		t.Errorf("revoke of an expired token = %d, want 401", code)
	}
}

func TestServer_prefixAndRegister(t *testing.T) {
	t.Parallel()
	s := ghapp.NewDefault("/api/v3")
	mux := http.NewServeMux()
	// Routes another fake (GitHub secrets) mounts on the same mux.
	mux.HandleFunc("GET /api/v3/repos/{o}/{r}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) })
	mux.HandleFunc("GET /api/v3/repos/{o}/{r}/actions/secrets/public-key", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(298) })
	mux.HandleFunc("PUT /api/v3/orgs/{org}/actions/secrets/{name}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(297) })
	s.Register(mux)
	got := []int{}
	for _, p := range []string{"/api/v3/repos/octo-org/alpha/installation", "/api/v3/repos/octo-org/alpha", "/api/v3/repos/octo-org/alpha/actions/secrets/public-key", "/repos/octo-org/alpha/installation"} {
		code, _ := do(t, mux, http.MethodGet, p, goodAuth(t), "")
		got = append(got, code)
	}
	if diff := cmp.Diff([]int{200, 299, 298, 404}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if s.Count(ghapp.RouteRepoInstall) != 1 {
		t.Errorf("Count(RouteRepoInstall) = %d, want 1", s.Count(ghapp.RouteRepoInstall))
	}
}

func TestServer_faults(t *testing.T) {
	t.Parallel()
	s := ghapp.NewDefault("")
	s.Push(ghapp.RouteOrgInstall, fake.Fault{Status: 503, Body: `{"message":"down"}`})
	codes := []int{}
	for range 2 {
		code, _ := do(t, s, http.MethodGet, "/orgs/octo-org/installation", goodAuth(t), "")
		codes = append(codes, code)
	}
	if diff := cmp.Diff([]int{503, 200}, codes); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestServer_Start(t *testing.T) {
	t.Parallel()
	s := ghapp.NewDefault("/api/v3")
	base, stop, err := s.Start("")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stop() }()
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/api/v3") {
		t.Errorf("base = %q", base)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/app", nil)
	req.Header.Set("Authorization", goodAuth(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(ghapp.DefaultSlug)) {
		t.Errorf("GET /app = %d %s", resp.StatusCode, b)
	}
}

func TestKey_forms(t *testing.T) {
	t.Parallel()
	k := ghapp.TestKey(0)
	got := []bool{
		strings.HasPrefix(k.PKCS1PEM(), "-----BEGIN RSA PRIVATE KEY-----\n"),
		strings.HasPrefix(k.PKCS8PEM(), "-----BEGIN PRIVATE KEY-----\n"),
		!strings.Contains(k.EscapedPEM(), "\n") && strings.Contains(k.EscapedPEM(), `\n`),
		ghapp.TestKey(0) == k,
		!ghapp.TestKey(1).Private.Equal(k.Private),
		k.Private.N.BitLen() == 2048,
	}
	if diff := cmp.Diff([]bool{true, true, true, true, true, true}, got); diff != "" {
		t.Errorf("key forms (-want +got):\n%s", diff)
	}
}
