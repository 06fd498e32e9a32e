package rest_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fakegroo "github.com/tokenmint/tokenmint/internal/fake/groo"
	fakehookbase "github.com/tokenmint/tokenmint/internal/fake/hookbase"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/providertest"
	"github.com/tokenmint/tokenmint/internal/provider/rest"
)

const hookbaseKey = "whr_live_admin0123456789abcdef0123"

// xAPIKey turns the shipped Hookbase profile into an inline one that
// authenticates with the X-API-Key header instead of Bearer.
func xAPIKey(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(workspace, profile(t, "hookbase.json")))
	if err != nil {
		t.Fatal(err)
	}
	const bearer = `"auth": {"header": "Authorization", "value": "Bearer {{admin_key}}"}`
	if !strings.Contains(string(b), bearer) {
		t.Fatalf("hookbase.json has no %s", bearer)
	}
	return strings.Replace(string(b), bearer, `"auth": {"header": "X-API-Key", "value": "{{admin_key}}"}`, 1)
}

// hookbaseHarness runs the rest provider with a Hookbase profile against
// the fake Hookbase API speaking the variants in o.
func hookbaseHarness(name, cfg string, o fakehookbase.Options) providertest.Harness {
	h := providertest.Harness{
		Name:     name,
		AdminKey: hookbaseKey,
		Scopes:   []string{"read", "write"},
		Routes: providertest.Routes{
			Create: fakehookbase.RouteCreate,
			List:   fakehookbase.RouteList,
			Revoke: fakehookbase.RouteDelete,
		},
		Caps:       providertest.Caps{CanList: true, HasScopes: true, HasExpiry: o.Expiry != fakehookbase.ExpiryIgnored},
		MaxNameLen: 100,
		UnknownID:  "key_0000000000000000",
		New: func(t testing.TB, env providertest.Env) providertest.Instance {
			f := fakehookbase.New(hookbaseKey, nil, o)
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			p, err := rest.New(provider.Options{
				APIURL: srv.URL, AdminKey: hookbaseKey, ProviderConfig: cfg, Workspace: workspace,
				HTTP: env.HTTP, Warnf: env.Warnf,
			})
			if err != nil {
				t.Fatalf("failed to build provider: %v", err)
			}
			return providertest.Instance{Provider: p, Server: f.Server}
		},
	}
	if o.Expiry == fakehookbase.ExpiryDays {
		h.ExpiryTolerance = 24 * time.Hour // whole days
	}
	return h
}

// conformanceHarnesses are the shipped profiles against their fakes: Tooken,
// and Hookbase in the variants the built-in hookbase provider runs (three
// create shapes, two list shapes, both delete answers, both auth headers,
// days-only and ignored expiry).
func conformanceHarnesses(t *testing.T) []providertest.Harness {
	hb := profile(t, "hookbase.json")
	return []providertest.Harness{
		tookenHarness(t),
		hookbaseHarness("rest/hookbase.json/create=docs,list=apiKeys,delete=200", hb, fakehookbase.Options{Create: fakehookbase.CreateDocs, List: fakehookbase.ListAPIKeys, Delete: fakehookbase.Delete200}),
		hookbaseHarness("rest/hookbase.json/create=mcp,list=data,delete=204", hb, fakehookbase.Options{Create: fakehookbase.CreateMCP, List: fakehookbase.ListData, Delete: fakehookbase.Delete204}),
		hookbaseHarness("rest/hookbase.json/create=sdk,list=data,delete=200,x-api-key", xAPIKey(t), fakehookbase.Options{Create: fakehookbase.CreateSDK, List: fakehookbase.ListData, Delete: fakehookbase.Delete200}),
		hookbaseHarness("rest/hookbase.json/create=sdk,list=apiKeys,delete=204,expiry=days", hb, fakehookbase.Options{Create: fakehookbase.CreateSDK, List: fakehookbase.ListAPIKeys, Delete: fakehookbase.Delete204, Expiry: fakehookbase.ExpiryDays}),
		hookbaseHarness("rest/hookbase.json/create=docs,list=data,expiry=ignored", hb, fakehookbase.Options{Create: fakehookbase.CreateDocs, List: fakehookbase.ListData, Expiry: fakehookbase.ExpiryIgnored}),
		grooHarness("rest/groo.yaml/list=wrapped", profile(t, "groo.yaml"), false),
		grooHarness("rest/groo.yaml/list=bare", profile(t, "groo.yaml"), true),
	}
}

const (
	grooClientID = "app_8f3k2"
	grooSecret   = "cs_live_0123456789abcdef0123456789abcdef"
)

// grooHarness runs the rest provider with the Groo profile of
// docs/rest-profile.md against the fake Groo API (client secret, Basic).
func grooHarness(name, cfg string, bare bool) providertest.Harness {
	return providertest.Harness{
		Name:     name,
		AdminKey: grooSecret,
		Routes: providertest.Routes{
			Create: fakegroo.RouteCreate,
			List:   fakegroo.RouteList,
			Revoke: fakegroo.RouteRevoke,
		},
		Caps:       providertest.Caps{CanList: true, HasExpiry: true},
		MaxNameLen: 100,
		UnknownID:  "00000000-0000-0000-0000-000000000000",
		New: func(t testing.TB, env providertest.Env) providertest.Instance {
			f := fakegroo.New(grooClientID, grooSecret)
			f.SetBareList(bare)
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			p, err := rest.New(provider.Options{
				APIURL: srv.URL, AdminKey: grooSecret, ClientID: grooClientID, ProviderConfig: cfg, Workspace: workspace,
				HTTP: env.HTTP, Warnf: env.Warnf,
			})
			if err != nil {
				t.Fatalf("failed to build provider: %v", err)
			}
			return providertest.Instance{Provider: p, Server: f.Server}
		},
	}
}
