package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/rest"
	"github.com/tokenmint/tokenmint/internal/provider/tooken"
)

const tookenKey = "tok_live_admin0123456789abcdef0123"

// workspace is the repository root: the shipped profiles are resolved
// against it as the action resolves provider-config paths.
var workspace = filepath.Join("..", "..", "..")

func profile(t testing.TB, name string) string {
	t.Helper()
	ws, err := filepath.Abs(workspace)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(ws, "testdata", "profiles", name)); err != nil {
		t.Skipf("profile %s not shipped yet: %v", name, err)
	}
	return filepath.Join("testdata", "profiles", name)
}

func noSleep(context.Context, time.Duration) error { return nil }

// request is what a fake saw: enough to say two clients sent the same.
type request struct {
	Method, Path, Query string
	Auth, APIKey        string
	ContentType         string
	Body                any
}

type recorder struct {
	mu   sync.Mutex
	reqs []request
}

func (r *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(strings.NewReader(string(b)))
		var body any
		if len(b) > 0 {
			if err := json.Unmarshal(b, &body); err != nil {
				body = "invalid JSON: " + string(b)
			}
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, request{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Get("Authorization"), req.Header.Get("X-API-Key"), req.Header.Get("Content-Type"), body})
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	})
}

func (r *recorder) take() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// side is one provider (built-in or rest) on its own fake.
type side struct {
	fake *faketooken.Server
	rec  *recorder
	p    provider.Provider
}

func newTookenSide(t *testing.T, now time.Time, build func(o provider.Options) (provider.Provider, error)) *side {
	t.Helper()
	f := faketooken.New(tookenKey, nil)
	f.Store.Now = func() time.Time { return now }
	n := 0
	var mu sync.Mutex
	f.IDFunc = func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("tok_%04d", n)
	}
	rec := &recorder{}
	srv := httptest.NewServer(rec.wrap(f))
	t.Cleanup(srv.Close)
	p, err := build(provider.Options{
		APIURL: srv.URL + "/v1", AdminKey: tookenKey, Workspace: workspace,
		ProviderConfig: profile(t, "tooken.yaml"),
		HTTP:           httpx.New(httpx.WithClock(time.Now, noSleep)),
		Now:            func() time.Time { return now },
	})
	if err != nil {
		t.Fatalf("failed to build provider: %v", err)
	}
	return &side{fake: f, rec: rec, p: p}
}

// TestTookenProfile_SameAsBuiltin drives the built-in tooken provider and
// the rest provider with testdata/profiles/tooken.yaml through the same
// operations against two identical fakes: the requests and the results
// must be the same.
func TestTookenProfile_SameAsBuiltin(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	builtin := newTookenSide(t, now, tooken.New)
	generic := newTookenSide(t, now, rest.New)
	ctx := context.Background()

	type result struct {
		Tokens   []provider.Token
		Err      string
		Requests []request
	}
	// Secrets are random per fake: check each against its fake, then drop.
	scrub := func(t *testing.T, s *side, toks ...*provider.Token) []provider.Token {
		var out []provider.Token
		for _, tok := range toks {
			if tok == nil {
				continue
			}
			if !tok.Secret.Empty() {
				rec, _ := s.fake.Store.Get(tok.ID)
				if rec.Secret != tok.Secret.Reveal() {
					t.Errorf("secret of %s differs from the fake's", tok.ID)
				}
			}
			c := *tok
			c.Secret = ""
			out = append(out, c)
		}
		return out
	}
	ops := []struct {
		name string
		run  func(t *testing.T, s *side) result
	}{
		{name: "mint", run: func(t *testing.T, s *side) result {
			tok, err := s.p.Mint(ctx, provider.MintRequest{Name: "deploy-1", Scopes: []string{"tokens:read", "audit:read"}, TTL: 90 * time.Minute})
			return result{Tokens: scrub(t, s, tok), Err: errString(err)}
		}},
		{name: "mint_second", run: func(t *testing.T, s *side) result {
			tok, err := s.p.Mint(ctx, provider.MintRequest{Name: "deploy-10", Scopes: []string{"webhooks:read"}, TTL: 24 * time.Hour})
			return result{Tokens: scrub(t, s, tok), Err: errString(err)}
		}},
		{name: "mint_conflict", run: func(t *testing.T, s *side) result {
			tok, err := s.p.Mint(ctx, provider.MintRequest{Name: "deploy-1", Scopes: []string{"tokens:read"}, TTL: time.Hour})
			return result{Tokens: scrub(t, s, tok), Err: fmt.Sprint(httpx.StatusOf(err))}
		}},
		{name: "list_with_hint", run: func(t *testing.T, s *side) result {
			toks, err := s.p.List(ctx, "deploy-1")
			return result{Tokens: toks, Err: errString(err)}
		}},
		{name: "find_by_name", run: func(t *testing.T, s *side) result {
			toks, err := provider.FindByName(ctx, s.p, "deploy-1")
			return result{Tokens: toks, Err: errString(err)}
		}},
		{name: "rotate", run: func(t *testing.T, s *side) result {
			tok, err := s.p.(provider.Rotator).Rotate(ctx, "tok_0001")
			return result{Tokens: scrub(t, s, tok), Err: errString(err)}
		}},
		{name: "revoke", run: func(t *testing.T, s *side) result {
			return result{Err: errString(s.p.Revoke(ctx, provider.Token{ID: "tok_0001"}))}
		}},
		{name: "revoke_again_is_gone", run: func(t *testing.T, s *side) result {
			return result{Err: errString(s.p.Revoke(ctx, provider.Token{ID: "tok_0001"}))}
		}},
		{name: "list_all_after_revoke", run: func(t *testing.T, s *side) result {
			toks, err := s.p.List(ctx, "")
			return result{Tokens: toks, Err: errString(err)}
		}},
		{name: "revoke_hostile_id", run: func(t *testing.T, s *side) result {
			return result{Err: errString(s.p.Revoke(ctx, provider.Token{ID: "../x?y=1#z"}))}
		}},
	}
	// In order: each operation builds on the previous ones.
	for _, op := range ops {
		want := op.run(t, builtin)
		want.Requests = builtin.rec.take()
		got := op.run(t, generic)
		got.Requests = generic.rec.take()
		if len(want.Requests) == 0 {
			t.Errorf("%s: the built-in provider sent nothing", op.name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: rest differs from built-in (-builtin +rest):\n%s", op.name, diff)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// expiryProfile sends every expiry format and reads nothing but id and
// secret back.
const expiryProfile = `
name: Expiry
auth: {header: X-Key, value: "{{admin_key}}"}
headers: {X-Client: "{{client_id}}"}
create:
  path: "/apps/{{client_id}}/keys"
  body:
    name: "{{name}}"
    description: "{{description}}"
    default: "{{expiry}}"
    rfc: "{{expiry:rfc3339}}"
    unix: "{{expiry:unix}}"
    seconds: "{{expiry:seconds}}"
    days: "{{expiry:days}}"
    note: "ttl {{expiry:seconds}}s for {{name}}"
  expiry_format: unix
  response: {id: /result/id, secret: [/key, /result/key], expires_at: /result/exp, expires_at_format: unix_ms}
revoke: {path: "/apps/{{client_id}}/keys/{{id}}", method: post, gone: [404, 400]}
`

func TestMint_ExpiryFormatsAndPaths(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		ttl      time.Duration
		desc     string
		answer   string
		wantBody map[string]any
		wantExp  time.Time
		warn     bool
	}{
		{
			name: "ttl_90m", ttl: 90 * time.Minute, desc: "d",
			answer: `{"result":{"id":7,"key":"k_secret_1","exp":1772370000000}}`,
			wantBody: map[string]any{
				"name": "a/b c", "description": "d", "default": float64(1772371800), "rfc": "2026-03-01T13:30:00Z",
				"unix": float64(1772371800), "seconds": float64(5400), "days": float64(1), "note": "ttl 5400s for a/b c",
			},
			wantExp: time.UnixMilli(1772370000000).UTC(),
		},
		{
			name: "ttl_49h_no_expiry_back", ttl: 49 * time.Hour,
			answer: `{"key":"k_secret_2","result":{"id":"x1","exp":null}}`,
			wantBody: map[string]any{
				"name": "a/b c", "default": float64(now.Add(49 * time.Hour).Unix()), "rfc": "2026-03-03T13:00:00Z",
				"unix": float64(now.Add(49 * time.Hour).Unix()), "seconds": float64(176400), "days": float64(3), "note": "ttl 176400s for a/b c",
			},
			warn: true,
		},
		{
			name: "no_ttl_leaves_members_out", answer: `{"key":"k_secret_3","result":{"id":"x2"}}`,
			wantBody: map[string]any{"name": "a/b c", "note": "ttl s for a/b c"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var gotBody map[string]any
			var gotPath, gotKey, gotClient string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				gotPath, gotKey, gotClient = r.URL.EscapedPath(), r.Header.Get("X-Key"), r.Header.Get("X-Client")
				_ = json.NewDecoder(r.Body).Decode(&gotBody)
				w.WriteHeader(201)
				_, _ = io.WriteString(w, tc.answer)
			}))
			t.Cleanup(srv.Close)
			var warnings []string
			p, err := rest.New(provider.Options{
				APIURL: srv.URL, AdminKey: "adm_key_1234", ClientID: "app 1/2", ProviderConfig: expiryProfile,
				HTTP: httpx.New(httpx.WithClock(time.Now, noSleep)), Now: func() time.Time { return now },
				Warnf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) },
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			tok, err := p.Mint(context.Background(), provider.MintRequest{Name: "a/b c", Description: tc.desc, TTL: tc.ttl})
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tc.wantBody, gotBody); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff("/apps/app%201%2F2/keys", gotPath); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
			if gotKey != "adm_key_1234" || gotClient != "app 1/2" {
				t.Errorf("headers X-Key=%q X-Client=%q", gotKey, gotClient)
			}
			if diff := cmp.Diff(tc.wantExp, tok.ExpiresAt); diff != "" {
				t.Errorf("expiry (-want +got):\n%s", diff)
			}
			if tok.Secret.Empty() || tok.Name != "a/b c" {
				t.Errorf("token = %+v", tok)
			}
			if diff := cmp.Diff(tc.warn, len(warnings) == 1); diff != "" {
				t.Errorf("warned (-want +got):\n%s\n%v", diff, warnings)
			}
			if _, ok := p.(provider.Rotator); ok {
				t.Errorf("a profile without rotate yields a provider.Rotator")
			}
			if _, err := p.List(context.Background(), ""); !errors.Is(err, provider.ErrNotSupported) {
				t.Errorf("List = %v, want ErrNotSupported", err)
			}
		})
	}
}

func TestSpec_Check(t *testing.T) {
	t.Parallel()
	tk := "testdata/profiles/tooken.yaml"
	cases := []struct {
		name   string
		opts   provider.Options
		req    provider.MintRequest
		inputs []string
	}{
		{name: "tooken_ok", opts: provider.Options{ProviderConfig: tk}, req: provider.MintRequest{Scopes: []string{"tokens:read"}}},
		{name: "tooken_unknown_scope", opts: provider.Options{ProviderConfig: tk}, req: provider.MintRequest{Scopes: []string{"tokens:read", "root"}}, inputs: []string{"scopes"}},
		{name: "tooken_scopes_required", opts: provider.Options{ProviderConfig: tk}, inputs: []string{"scopes"}},
		{name: "tooken_description_not_sent", opts: provider.Options{ProviderConfig: tk}, req: provider.MintRequest{Scopes: []string{"tokens:read"}, Description: "x"}, inputs: []string{"description"}},
		{name: "tooken_client_id_unused", opts: provider.Options{ProviderConfig: tk, ClientID: "c"}, req: provider.MintRequest{Scopes: []string{"tokens:read"}}, inputs: []string{"client-id"}},
		// The name input is a prefix: the ledger fits prefix and nonce to max_name_length.
		{name: "tooken_long_name_is_a_prefix", opts: provider.Options{ProviderConfig: tk}, req: provider.MintRequest{Name: strings.Repeat("n", 101), Scopes: []string{"tokens:read"}}},
		{name: "expiry_needs_client_id_and_api_url", opts: provider.Options{ProviderConfig: expiryProfile}, inputs: []string{"api-url", "client-id"}},
		{name: "expiry_scopes_not_sent", opts: provider.Options{ProviderConfig: expiryProfile, ClientID: "c", APIURL: "https://x.example"}, req: provider.MintRequest{Scopes: []string{"a"}}, inputs: []string{"scopes"}},
		{name: "missing_config", inputs: []string{"provider-config"}},
		{name: "bad_profile", opts: provider.Options{ProviderConfig: "auth: 1\n"}, inputs: []string{"provider-config"}},
		{name: "incomplete_profile", opts: provider.Options{ProviderConfig: "name: x\n"}, inputs: []string{"provider-config", "provider-config", "provider-config"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Workspace = workspace
			tc.opts.AdminKey = "adm_secret_value"
			err := rest.Spec.Check(tc.opts, tc.req)
			ies, others := inputerr.List(err)
			var got []string
			for _, ie := range ies {
				got = append(got, ie.Input)
			}
			if len(others) > 0 {
				t.Errorf("errors that are not input errors: %v", others)
			}
			if diff := cmp.Diff(tc.inputs, got); diff != "" {
				t.Errorf("inputs (-want +got):\n%s\n%v", diff, err)
			}
			if err != nil && strings.Contains(err.Error(), "adm_secret_value") {
				t.Errorf("error echoes the admin key")
			}
		})
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	s, err := rest.Resolve(provider.Options{ProviderConfig: "testdata/profiles/tooken.yaml", Workspace: workspace})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	got := fmt.Sprintf("%s %s %d %v %v", s.Name, s.DefaultAPIURL, s.MaxNameLen, s.Scopes, s.ScopesRequired)
	want := fmt.Sprintf("rest https://api.tooken.io/v1 100 %v true", tooken.Scopes)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
}

// TestList_Paging checks that paging stops at a short page and that a
// listing answer without the items array is unreadable.
func TestList_Paging(t *testing.T) {
	t.Parallel()
	f := faketooken.New(tookenKey, nil)
	for i := range 5 {
		f.Store.Add(fake.Record{ID: fmt.Sprintf("tok_%d", i), Name: fmt.Sprintf("n%d", i), Scopes: []string{"tokens:read"}})
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := `
auth: {header: Authorization, value: "Bearer {{admin_key}}"}
create: {path: /tokens, body: {name: "{{name}}"}, expiry: fixed, response: {id: /id, secret: /token}}
revoke: {path: "/tokens/{{id}}"}
list:
  path: /tokens
  items: [/nothing, /data]
  item: {id: /id, name: /name, status: /status}
  paging: {page_param: page, per_page_param: per_page, per_page: 2}
`
	p, err := rest.New(provider.Options{APIURL: srv.URL + "/v1", AdminKey: tookenKey, ProviderConfig: cfg, HTTP: httpx.New(httpx.WithClock(time.Now, noSleep))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	toks, err := p.List(context.Background(), "")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if diff := cmp.Diff(5, len(toks)); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(3, f.Count("GET /v1/tokens")); diff != "" {
		t.Errorf("pages fetched (-want +got):\n%s", diff)
	}
	f.Push("GET /v1/tokens", fake.Fault{After: true, RawBody: `{"items":[]}`})
	if _, err := p.List(context.Background(), ""); !errors.Is(err, httpx.ErrUnreadable) {
		t.Errorf("List without items = %v, want ErrUnreadable", err)
	}
}
