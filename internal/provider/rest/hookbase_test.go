package rest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	fakehookbase "github.com/tokenmint/tokenmint/internal/fake/hookbase"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/hookbase"
	"github.com/tokenmint/tokenmint/internal/provider/rest"
)

type hbSide struct {
	fake  *fakehookbase.Server
	rec   *recorder
	p     provider.Provider
	mu    sync.Mutex
	warns int
}

func newHookbaseSide(t *testing.T, now time.Time, o fakehookbase.Options, cfg, header string, build func(provider.Options) (provider.Provider, error)) *hbSide {
	t.Helper()
	s := &hbSide{fake: fakehookbase.New(hookbaseKey, nil, o), rec: &recorder{}}
	s.fake.Store.Now = func() time.Time { return now }
	srv := httptest.NewServer(s.rec.wrap(s.fake))
	t.Cleanup(srv.Close)
	p, err := build(provider.Options{
		APIURL: srv.URL, AdminKey: hookbaseKey, ProviderConfig: cfg, Workspace: workspace, HeaderName: header,
		HTTP: httpx.New(httpx.WithClock(time.Now, noSleep)), Now: func() time.Time { return now },
		Warnf: func(string, ...any) { s.mu.Lock(); s.warns++; s.mu.Unlock() },
	})
	if err != nil {
		t.Fatalf("failed to build provider: %v", err)
	}
	s.p = p
	return s
}

// ids replaces the fake's random key IDs by their creation rank, so two
// fakes' answers compare.
func (s *hbSide) ids(v string) string {
	for i, r := range s.fake.Store.All() {
		v = strings.ReplaceAll(v, r.ID, fmt.Sprintf("key_%d", i+1))
	}
	return v
}

// TestHookbaseProfile_SameAsBuiltin drives the built-in hookbase provider
// and the rest provider with testdata/profiles/hookbase.json through the
// same operations, for every response shape, both delete answers, both
// auth headers and each expiry behaviour: same requests, same results.
func TestHookbaseProfile_SameAsBuiltin(t *testing.T) {
	t.Parallel()
	cfg := profile(t, "hookbase.json")
	variants := []struct {
		name   string
		o      fakehookbase.Options
		header string
	}{
		{name: "docs_apikeys_200", o: fakehookbase.Options{Create: fakehookbase.CreateDocs, List: fakehookbase.ListAPIKeys, Delete: fakehookbase.Delete200}},
		{name: "mcp_data_204", o: fakehookbase.Options{Create: fakehookbase.CreateMCP, List: fakehookbase.ListData, Delete: fakehookbase.Delete204}},
		{name: "sdk_data_x_api_key", o: fakehookbase.Options{Create: fakehookbase.CreateSDK, List: fakehookbase.ListData}, header: "X-API-Key"},
		{name: "sdk_expiry_days", o: fakehookbase.Options{Create: fakehookbase.CreateSDK, Expiry: fakehookbase.ExpiryDays}},
		{name: "docs_expiry_ignored", o: fakehookbase.Options{Create: fakehookbase.CreateDocs, Expiry: fakehookbase.ExpiryIgnored}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			builtin := newHookbaseSide(t, now, v.o, "", v.header, hookbase.New)
			genCfg := cfg
			if v.header != "" {
				genCfg = xAPIKey(t)
			}
			generic := newHookbaseSide(t, now, v.o, genCfg, "", rest.New)
			ctx := context.Background()
			type result struct {
				Tokens   []provider.Token
				Status   int
				Err      bool
				Warnings int
				Requests []request
			}
			norm := func(s *hbSide, toks []provider.Token, err error) result {
				r := result{Status: httpx.StatusOf(err), Err: err != nil}
				for _, tok := range toks {
					if !tok.Secret.Empty() {
						if rec, _ := s.fake.Store.Get(tok.ID); rec.Secret != tok.Secret.Reveal() {
							t.Errorf("secret of %s differs from the fake's", tok.ID)
						}
					}
					tok.Secret = ""
					tok.ID = s.ids(tok.ID)
					r.Tokens = append(r.Tokens, tok)
				}
				for _, q := range s.rec.take() {
					q.Path = s.ids(q.Path)
					r.Requests = append(r.Requests, q)
				}
				s.mu.Lock()
				r.Warnings, s.warns = s.warns, 0
				s.mu.Unlock()
				return r
			}
			one := func(tok *provider.Token) []provider.Token {
				if tok == nil {
					return nil
				}
				return []provider.Token{*tok}
			}
			ops := []struct {
				name string
				run  func(s *hbSide) result
			}{
				{name: "mint_2h", run: func(s *hbSide) result {
					tok, err := s.p.Mint(ctx, provider.MintRequest{Name: "ci-1", Scopes: []string{"read", "write"}, TTL: 2 * time.Hour})
					return norm(s, one(tok), err)
				}},
				{name: "mint_no_ttl", run: func(s *hbSide) result {
					tok, err := s.p.Mint(ctx, provider.MintRequest{Name: "ci-2", Scopes: []string{"read"}})
					return norm(s, one(tok), err)
				}},
				{name: "mint_refused_400", run: func(s *hbSide) result {
					// The fake refuses an empty name. (An unknown scope is
					// not comparable: rest refuses it before sending.)
					tok, err := s.p.Mint(ctx, provider.MintRequest{Name: "", Scopes: []string{"read"}, TTL: time.Hour})
					return norm(s, one(tok), err)
				}},
				{name: "list", run: func(s *hbSide) result {
					toks, err := s.p.List(ctx, "ci-1")
					return norm(s, toks, err)
				}},
				{name: "revoke", run: func(s *hbSide) result {
					return norm(s, nil, s.p.Revoke(ctx, provider.Token{ID: s.fake.Store.All()[0].ID}))
				}},
				{name: "revoke_gone", run: func(s *hbSide) result {
					return norm(s, nil, s.p.Revoke(ctx, provider.Token{ID: s.fake.Store.All()[0].ID}))
				}},
				{name: "find_after_revoke", run: func(s *hbSide) result {
					toks, err := provider.FindByName(ctx, s.p, "ci-1")
					return norm(s, toks, err)
				}},
			}
			if _, err := generic.p.Mint(ctx, provider.MintRequest{Name: "x", Scopes: []string{"admin"}}); !errors.As(err, new(*inputerr.Error)) || len(generic.rec.take()) != 0 {
				t.Errorf("rest with an unknown scope = %v, want an input error before any request", err)
			}
			for _, op := range ops {
				want := op.run(builtin)
				got := op.run(generic)
				if len(want.Requests) == 0 {
					t.Errorf("%s: the built-in provider sent nothing", op.name)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: rest differs from built-in (-builtin +rest):\n%s", op.name, diff)
				}
			}
		})
	}
}
