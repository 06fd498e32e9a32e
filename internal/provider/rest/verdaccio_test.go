package rest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/providertest"
	"github.com/tokenmint/tokenmint/internal/provider/rest"
	"github.com/tokenmint/tokenmint/internal/provider/rest/verdacciotest"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// These tests run the shipped testdata/profiles/verdaccio.yaml against a
// real Verdaccio 6.10.4 (.ci/services/verdaccio.sh), each with its own
// account. The server's own view (its token list, /-/whoami) is the
// reference.

type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) warnf(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, redact.Neutralize(strings.TrimSpace(fmt.Sprintf(format, args...))))
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.list)
}

func verdaccioProvider(t *testing.T, u *verdacciotest.User, apiURL string, w *warnings) provider.Provider {
	t.Helper()
	opts := provider.Options{
		APIURL: apiURL, AdminKey: redact.Secret(u.Token), ProviderConfig: verdacciotest.Profile(t),
		Secrets: map[string]redact.Secret{"password": redact.Secret(u.Password)},
		HTTP:    httpx.New(httpx.WithTimeout(10 * time.Second)),
	}
	if w != nil {
		opts.Warnf = w.warnf
	}
	p, err := rest.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func TestVerdaccio_MintWorksRevokeRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		scopes   []string
		readonly bool
	}{
		{name: "read", scopes: []string{"read"}, readonly: true},
		{name: "write", scopes: []string{"write"}, readonly: false},
		{name: "no_scopes", scopes: nil, readonly: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := verdacciotest.NewUser(t)
			w := &warnings{}
			p := verdaccioProvider(t, u, u.URL, w)
			ctx := context.Background()
			start := time.Now()
			tok, err := p.Mint(ctx, provider.MintRequest{Name: "tokenmint-x-abc", Scopes: tc.scopes, TTL: time.Hour})
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			// The server's own view: one token, this key, readonly as asked.
			got := u.Tokens(t)
			if len(got) != 1 || got[0].Key != tok.ID || got[0].Readonly != tc.readonly || got[0].User != u.Name {
				t.Fatalf("server lists %+v, want one token %s of %s with readonly=%v", got, tok.ID, u.Name, tc.readonly)
			}
			if status, who := u.Whoami(t, tok.Secret.Reveal()); status != 200 || who != u.Name {
				t.Fatalf("whoami with the minted token = %d %q, want 200 %q", status, who, u.Name)
			}
			// The expiry is the JWT's exp (the server's 7d lifetime), read, not guessed.
			if want := verdacciotest.JWTExpiry(tok.Secret.Reveal()); want.IsZero() || !tok.ExpiresAt.Equal(want) {
				t.Errorf("ExpiresAt = %v, want the token's exp %v", tok.ExpiresAt, want)
			}
			if d := tok.ExpiresAt.Sub(start); d < 6*24*time.Hour || d > 8*24*time.Hour {
				t.Errorf("expiry in %v, want the server's 7d", d)
			}
			if ws := w.all(); len(ws) != 1 || !strings.Contains(ws[0], "later than the requested ttl of 1h0m0s (the service sets its own lifetime; the ttl was not sent)") {
				t.Errorf("warnings = %q, want one about the 7d lifetime", ws)
			}
			if g, ok := p.(provider.Getter); !ok {
				t.Error("provider is no Getter")
			} else if got, err := g.Get(ctx, tok.ID); err != nil || got.ID != tok.ID {
				t.Errorf("Get = %v, %v", got, err)
			}

			if err := p.Revoke(ctx, *tok); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if status, _ := u.Whoami(t, tok.Secret.Reveal()); status != 403 {
				t.Errorf("whoami after revoke = %d, want 403 (refused)", status)
			}
			if keys := u.Keys(t); len(keys) != 0 {
				t.Errorf("server still lists %v after revoke", keys)
			}
			if g, ok := p.(provider.Getter); ok {
				if _, err := g.Get(ctx, tok.ID); !errors.Is(err, provider.ErrNotFound) {
					t.Errorf("Get after revoke = %v, want ErrNotFound", err)
				}
			}
			// Again: the server cannot tell; the profile says so, and it is success.
			if err := p.Revoke(ctx, *tok); err != nil {
				t.Errorf("second Revoke: %v", err)
			}
		})
	}
}

func TestVerdaccio_Refusals(t *testing.T) {
	t.Parallel()
	u := verdacciotest.NewUser(t)
	ctx := context.Background()

	// A wrong password: the server refuses (401); the error names neither secret.
	bad := *u
	bad.Password = "pw-wrong-" + u.Password[3:]
	p := verdaccioProvider(t, &bad, u.URL, nil)
	_, err := p.Mint(ctx, provider.MintRequest{Name: "n-1", Scopes: []string{"read"}})
	if httpx.StatusOf(err) != 401 {
		t.Errorf("mint with a wrong password = %v, want 401", err)
	}
	for _, s := range []string{bad.Password, u.Token} {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("error carries a secret: %v", err)
		}
	}
	if keys := u.Keys(t); len(keys) != 0 {
		t.Errorf("server lists %v after a refused create", keys)
	}

	// An account that never had a token answers 500 "user not found" to a
	// revoke: the profile's gone rule (status and body) makes it success
	// without retrying.
	fresh := verdacciotest.NewUser(t)
	proxy := verdacciotest.NewProxy(t, fresh)
	p = verdaccioProvider(t, fresh, proxy.URL, nil)
	if err := p.Revoke(ctx, provider.Token{ID: "0123456789abcdef0123456789abcdef"}); err != nil {
		t.Errorf("revoke for an account without tokens = %v, want success (gone)", err)
	}
	if n := proxy.Count(verdacciotest.RouteRevoke); n != 1 {
		t.Errorf("revoke sent %d times, want 1 (a matched gone rule is not retried)", n)
	}
	// A 500 with another body is an ordinary failure: retried, then the
	// real answer counts.
	tok, err := p.Mint(ctx, provider.MintRequest{Name: "n-2", Scopes: []string{"write"}})
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	proxy.ResetCounts()
	proxy.Push(verdacciotest.RouteRevoke, fake.Fault{Status: 500, Body: `{"error":"storage is busy"}`})
	if err := p.Revoke(ctx, *tok); err != nil {
		t.Errorf("revoke after a 500 = %v, want success on retry", err)
	}
	if n := proxy.Count(verdacciotest.RouteRevoke); n != 2 {
		t.Errorf("revoke sent %d times, want 2", n)
	}
	if keys := fresh.Keys(t); len(keys) != 0 {
		t.Errorf("server still lists %v", keys)
	}

	// The profile keeps no name: List must not pass for "found nothing".
	if _, err := p.List(ctx, "n-2"); !errors.Is(err, provider.ErrNotSupported) {
		t.Errorf("List = %v, want ErrNotSupported", err)
	}
}

func TestVerdaccio_InputChecks(t *testing.T) {
	t.Parallel()
	cfg := verdacciotest.Profile(t)
	o := provider.Options{APIURL: "http://127.0.0.1:1", AdminKey: "k", ProviderConfig: cfg, Secrets: map[string]redact.Secret{"password": "pw"}}
	cases := []struct {
		name string
		o    func(provider.Options) provider.Options
		req  provider.MintRequest
		want []string
	}{
		{name: "ok", req: provider.MintRequest{Name: "n", Scopes: []string{"read"}, TTL: time.Hour}},
		{name: "ttl_given", req: provider.MintRequest{Name: "n", TTL: time.Hour, TTLGiven: true}, want: []string{
			"ttl: is not sent: the Verdaccio service gives every token a lifetime of its own (create.expiry: fixed); remove ttl (the token is revoked when the job ends)",
		}},
		{name: "two_scopes", req: provider.MintRequest{Name: "n", Scopes: []string{"read", "write"}}, want: []string{
			"scopes: must be exactly one of read | write | (none) (the profile's create.scope_values.readonly)",
		}},
		{name: "no_password", o: func(o provider.Options) provider.Options { o.Secrets = nil; return o }, req: provider.MintRequest{Name: "n"}, want: []string{
			`provider-secrets: must give password=… : the profile declares the secret "password"`,
		}},
		{name: "extra_secret", o: func(o provider.Options) provider.Options {
			o.Secrets = map[string]redact.Secret{"password": "pw", "otp": "123456"}
			return o
		}, req: provider.MintRequest{Name: "n"}, want: []string{
			`provider-secrets: gives "otp", which the profile does not use (it declares password); remove it`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := o
			if tc.o != nil {
				opts = tc.o(o)
			}
			err := rest.Spec.Check(opts, tc.req)
			ies, others := inputerr.List(err)
			var got []string
			for _, ie := range ies {
				got = append(got, ie.Input+": "+ie.Rule)
			}
			if len(others) > 0 {
				t.Errorf("not input errors: %v", others)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if err != nil && (strings.Contains(err.Error(), "123456") || strings.Contains(err.Error(), `"pw"`)) {
				t.Errorf("an error echoes a secret: %v", err)
			}
		})
	}
}

// TestVerdaccio_Conformance runs the provider conformance suite through the
// shipped profile against the real server (a fault-injecting proxy in
// front; its Store is the server's own token list).
func TestVerdaccio_Conformance(t *testing.T) {
	verdacciotest.URL(t)
	h := providertest.Harness{
		Name:     "rest/verdaccio.yaml (real Verdaccio 6.10.4)",
		AdminKey: "per-case-login-token",
		Scopes:   []string{"read"},
		Routes: providertest.Routes{
			Create: verdacciotest.RouteCreate,
			Revoke: verdacciotest.RouteRevoke,
		},
		// No names (name_field: none): no find-by-name; the ttl is not sent.
		Caps:      providertest.Caps{HasScopes: true},
		UnknownID: "00000000000000000000000000000000",
		New: func(t testing.TB, env providertest.Env) providertest.Instance {
			u := verdacciotest.NewUser(t)
			env.Masker.Add(u.Token)
			env.Masker.Add(u.Password)
			proxy := verdacciotest.NewProxy(t, u)
			p, err := rest.New(provider.Options{
				APIURL: proxy.URL, AdminKey: redact.Secret(u.Token), ProviderConfig: verdacciotest.Profile(t),
				Secrets: map[string]redact.Secret{"password": redact.Secret(u.Password)},
				HTTP:    env.HTTP, Warnf: env.Warnf,
			})
			if err != nil {
				t.Fatalf("failed to build provider: %v", err)
			}
			return providertest.Instance{Provider: p, Server: proxy.Server}
		},
	}
	res := providertest.Run(t, h)
	t.Logf("\n%s\n%s", providertest.Table(res), providertest.Summary(res))
}
