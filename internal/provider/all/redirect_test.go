package all_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/fake/ghapp"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/all"
	"github.com/tokenmint/tokenmint/internal/provider/githubapp"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// The redirect matrix (spec "Ownership": a client never follows a redirect
// to another scheme, host or port): every provider, each header its
// credential travels in, answered 307 by its api-url. Cross-origin
// redirects must reach nothing at the target; a same-origin redirect (the
// control) is followed and delivers the credential, which proves the
// harness would see a leak.

// recorder is a server that records the requests it gets.
type recorder struct {
	mu   sync.Mutex
	reqs []http.Header
}

func (r *recorder) record(h http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, h.Clone())
}

func (r *recorder) got() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.reqs...)
}

type credCase struct {
	name     string
	provider string
	key      string
	opts     func(o *provider.Options, base string)
	req      provider.MintRequest
	// carries reports whether a request's headers hold the credential.
	carries func(h http.Header) bool
}

func credCases() []credCase {
	pem := ghapp.TestKey(0).PKCS1PEM()
	const (
		tookenKey = "tok_live_redirectadminkey0123456789"
		hookKey   = "whr_redirectadminkey0123456789abcd"
		grooKey   = "groo_client_secret_redirect_0123456789"
		grooPAT   = "groo_pat_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		restKey   = "rest_redirect_admin_key_0123456789"
	)
	has := func(header, value string) func(h http.Header) bool {
		return func(h http.Header) bool { return strings.Contains(h.Get(header), value) }
	}
	basic := base64.StdEncoding.EncodeToString([]byte("app-client-id:" + grooKey))
	return []credCase{
		{name: "tooken_authorization", provider: "tooken", key: tookenKey,
			req: provider.MintRequest{Name: "n", Scopes: []string{"tokens:read"}, TTL: time.Hour}, carries: has("Authorization", tookenKey)},
		{name: "hookbase_authorization", provider: "hookbase", key: hookKey,
			req: provider.MintRequest{Name: "n", Scopes: []string{"read"}, TTL: time.Hour}, carries: has("Authorization", hookKey)},
		{name: "hookbase_x_api_key", provider: "hookbase", key: hookKey,
			opts: func(o *provider.Options, _ string) { o.HeaderName = "X-API-Key" },
			req:  provider.MintRequest{Name: "n", Scopes: []string{"read"}, TTL: time.Hour}, carries: has("X-API-Key", hookKey)},
		{name: "groo_basic_client_secret", provider: "groo", key: grooKey,
			opts: func(o *provider.Options, _ string) { o.ClientID = "app-client-id" },
			req:  provider.MintRequest{Name: "n", TTL: time.Hour}, carries: has("Authorization", basic)},
		{name: "groo_pat_cookie", provider: "groo", key: grooPAT,
			opts: func(o *provider.Options, _ string) { o.ClientID = "app-client-id" },
			req:  provider.MintRequest{Name: "n", TTL: time.Hour}, carries: has("Cookie", grooPAT)},
		{name: "github_app_jwt", provider: "github-app", key: pem,
			opts: func(o *provider.Options, _ string) { o.ClientID = ghapp.DefaultClientID },
			req:  provider.MintRequest{Name: "n", Owner: "octo-org", Repositories: []string{"alpha"}, TTL: time.Hour},
			carries: func(h http.Header) bool {
				return strings.HasPrefix(h.Get("Authorization"), "Bearer ") || strings.HasPrefix(h.Get("Authorization"), "token ")
			}},
		{name: "rest_custom_header", provider: "rest", key: restKey,
			opts: func(o *provider.Options, base string) {
				o.ProviderConfig = fmt.Sprintf(`
name: redirect-test
base_url: %s
auth: {header: X-Service-Key, value: "key {{admin_key}}"}
create:
  path: /keys
  body: {name: "{{name}}"}
  response: {id: /id, secret: /key}
revoke: {path: "/keys/{{id}}"}
`, base)
			},
			req: provider.MintRequest{Name: "n", TTL: time.Hour}, carries: has("X-Service-Key", restKey)},
	}
}

// redirectKind builds the api-url server and says where it redirects to.
type redirectKind struct {
	name string
	// follow: the redirect stays within the origin and must be followed.
	follow bool
	// start returns the api-url server (TLS or not).
	start func(t *testing.T, h http.Handler, targetPort string) *httptest.Server
	// targetHost is the host the Location points at (the target listens
	// on 127.0.0.1 over http; "localhost" makes it another host).
	targetHost string
}

var redirectKinds = []redirectKind{
	{name: "cross_host", targetHost: "localhost", start: func(t *testing.T, h http.Handler, _ string) *httptest.Server { return httptest.NewServer(h) }},
	{name: "cross_port", targetHost: "127.0.0.1", start: func(t *testing.T, h http.Handler, _ string) *httptest.Server { return httptest.NewServer(h) }},
	{name: "https_to_http", targetHost: "127.0.0.1", start: func(t *testing.T, h http.Handler, _ string) *httptest.Server { return httptest.NewTLSServer(h) }},
	{name: "same_origin_control", follow: true, start: func(t *testing.T, h http.Handler, _ string) *httptest.Server { return httptest.NewTLSServer(h) }},
}

func TestRedirects_CredentialsStayAtTheirOrigin(t *testing.T) {
	t.Parallel()
	for _, cc := range credCases() {
		for _, rk := range redirectKinds {
			for _, op := range []string{"mint", "revoke"} {
				t.Run(cc.name+"/"+rk.name+"/"+op, func(t *testing.T) {
					t.Parallel()
					runRedirectCase(t, cc, rk, op)
				})
			}
		}
	}
}

func runRedirectCase(t *testing.T, cc credCase, rk redirectKind, op string) {
	t.Helper()
	target := &recorder{}
	targetSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target.record(r.Header)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(targetSrv.Close)
	_, targetPort, _ := strings.Cut(strings.TrimPrefix(targetSrv.URL, "http://"), ":")

	moved := &recorder{} // same-origin redirect destination
	origin := &recorder{}
	api := rk.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/moved/") {
			moved.record(r.Header)
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"bad_request","message":"stop here"}`))
			return
		}
		origin.record(r.Header)
		loc := "http://" + rk.targetHost + ":" + targetPort + r.URL.RequestURI()
		if rk.follow {
			loc = "/moved" + r.URL.RequestURI()
		}
		http.Redirect(w, r, loc, http.StatusTemporaryRedirect)
	}), targetPort)
	t.Cleanup(api.Close)

	// The client trusts the TLS server's certificate; a shallow copy of the
	// test server's client keeps its own (Go default) CheckRedirect, which
	// httpx.New must replace.
	hc := api.Client()
	hc.CheckRedirect = nil
	httpc := httpx.New(httpx.WithHTTPClient(hc), httpx.WithMaxAttempts(1), httpx.WithTimeout(10*time.Second))
	spec, ok := all.Lookup(cc.provider)
	if !ok {
		t.Fatalf("unknown provider %s", cc.provider)
	}
	opts := provider.Options{APIURL: api.URL, AdminKey: redact.Secret(cc.key), HTTP: httpc, Workspace: t.TempDir()}
	if cc.opts != nil {
		cc.opts(&opts, api.URL)
	}
	if spec.Name == "rest" {
		opts.APIURL = ""
	}
	p, err := spec.New(opts)
	if err != nil {
		t.Fatalf("failed to build %s: %v", cc.provider, err)
	}
	ctx := context.Background()
	switch op {
	case "mint":
		_, err = p.Mint(ctx, cc.req)
	case "revoke":
		err = p.Revoke(ctx, provider.Token{ID: "tok_1", Secret: "ghs_installationtoken0123456789"})
	}
	if err == nil {
		t.Fatalf("%s through a redirect answered success", op)
	}
	if len(origin.got()) == 0 {
		t.Fatalf("the api-url server got no request; the case tests nothing")
	}
	if rk.follow {
		got := moved.got()
		if len(got) == 0 {
			t.Fatalf("a same-origin redirect was not followed: %v", err)
		}
		if !cc.carries(got[0]) {
			t.Fatalf("the control's destination did not see the credential: the leak check would be blind")
		}
		return
	}
	if n := len(target.got()); n != 0 {
		t.Fatalf("the redirect target received %d request(s); want none (credential header present: %v)", n, cc.carries(target.got()[0]))
	}
	status := httpx.StatusOf(err)
	// github-app's installation lookup wraps its cause in a LookupError
	// that does not unwrap on purpose (a failed GET is never an ambiguous
	// create); the cause is still the refused redirect.
	var le *githubapp.LookupError
	if errors.As(err, &le) {
		status = httpx.StatusOf(le.Err)
	}
	if status != http.StatusTemporaryRedirect || !strings.Contains(err.Error(), "redirect not followed") {
		t.Fatalf("error = %v; want the 307 reported as a redirect not followed", err)
	}
	if strings.Contains(err.Error(), cc.key) {
		t.Fatalf("the error holds the credential")
	}
}
