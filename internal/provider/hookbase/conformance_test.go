package hookbase_test

import (
	"net/http/httptest"
	"testing"
	"time"

	fakehookbase "github.com/tokenmint/tokenmint/internal/fake/hookbase"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/hookbase"
	"github.com/tokenmint/tokenmint/internal/provider/providertest"
)

const adminKey = "whr_live_admin0123456789abcdef0123"

// Harness plugs the Hookbase provider, and the fake speaking the variants
// in o, into the conformance suite.
func Harness(name string, o fakehookbase.Options, headerName string) providertest.Harness {
	h := providertest.Harness{
		Name:     name,
		AdminKey: adminKey,
		Scopes:   []string{"read", "write"},
		Routes: providertest.Routes{
			Create: fakehookbase.RouteCreate,
			List:   fakehookbase.RouteList,
			Revoke: fakehookbase.RouteDelete,
		},
		Caps:       providertest.Caps{CanList: true, HasScopes: true, HasExpiry: o.Expiry != fakehookbase.ExpiryIgnored},
		MaxNameLen: hookbase.MaxNameLen,
		UnknownID:  "key_0000000000000000",
		New: func(t testing.TB, env providertest.Env) providertest.Instance {
			f := fakehookbase.New(adminKey, nil, o)
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			p, err := hookbase.New(provider.Options{APIURL: srv.URL, AdminKey: adminKey, HeaderName: headerName, HTTP: env.HTTP, Warnf: env.Warnf})
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

// Variants covers the three create shapes, both list shapes, both delete
// answers, both auth headers and the days-only expiry of the docs.
var Variants = []struct {
	Name   string
	Opts   fakehookbase.Options
	Header string
}{
	{"hookbase/create=docs,list=apiKeys,delete=200", fakehookbase.Options{Create: fakehookbase.CreateDocs, List: fakehookbase.ListAPIKeys, Delete: fakehookbase.Delete200}, ""},
	{"hookbase/create=mcp,list=data,delete=204", fakehookbase.Options{Create: fakehookbase.CreateMCP, List: fakehookbase.ListData, Delete: fakehookbase.Delete204}, ""},
	{"hookbase/create=sdk,list=data,delete=200,x-api-key", fakehookbase.Options{Create: fakehookbase.CreateSDK, List: fakehookbase.ListData, Delete: fakehookbase.Delete200}, "X-API-Key"},
	{"hookbase/create=sdk,list=apiKeys,delete=204,expiry=days", fakehookbase.Options{Create: fakehookbase.CreateSDK, List: fakehookbase.ListAPIKeys, Delete: fakehookbase.Delete204, Expiry: fakehookbase.ExpiryDays}, ""},
	{"hookbase/create=docs,list=data,expiry=ignored", fakehookbase.Options{Create: fakehookbase.CreateDocs, List: fakehookbase.ListData, Expiry: fakehookbase.ExpiryIgnored}, ""},
}

// TestConformance runs the provider conformance suite once per variant (not
// t.Parallel: the suite parallelises its cases and measures memory alone).
func TestConformance(t *testing.T) {
	var results []*providertest.Result
	for _, v := range Variants {
		results = append(results, providertest.Run(t, Harness(v.Name, v.Opts, v.Header)))
	}
	t.Logf("\n%s", providertest.Summary(results...))
}
