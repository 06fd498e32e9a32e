package rest_test

import (
	"net/http/httptest"
	"testing"

	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/providertest"
	"github.com/tokenmint/tokenmint/internal/provider/rest"
)

// tookenHarness runs the rest provider with testdata/profiles/tooken.yaml
// against the fake Tooken API: the same harness as the built-in provider's.
func tookenHarness(t *testing.T) providertest.Harness {
	cfg := profile(t, "tooken.yaml")
	return providertest.Harness{
		Name:     "rest/tooken.yaml",
		AdminKey: tookenKey,
		Scopes:   []string{"tokens:read", "webhooks:read"},
		Routes: providertest.Routes{
			Create: "POST /v1/tokens",
			List:   "GET /v1/tokens",
			Revoke: "DELETE /v1/tokens/{id}",
			Rotate: "POST /v1/tokens/{id}/rotate",
		},
		Caps:       providertest.Caps{CanList: true, CanRotate: true, HasScopes: true, HasExpiry: true},
		MaxNameLen: 100,
		UnknownID:  "tok_0000000000000000",
		New: func(t testing.TB, env providertest.Env) providertest.Instance {
			f := faketooken.New(tookenKey, nil)
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			p, err := rest.New(provider.Options{
				APIURL: srv.URL + "/v1", AdminKey: tookenKey, ProviderConfig: cfg, Workspace: workspace,
				HTTP: env.HTTP, Warnf: env.Warnf,
			})
			if err != nil {
				t.Fatalf("failed to build provider: %v", err)
			}
			return providertest.Instance{Provider: p, Server: f.Server}
		},
	}
}

// TestConformance runs the provider conformance suite through each shipped
// profile (not t.Parallel: the suite parallelises its cases and measures
// memory alone).
func TestConformance(t *testing.T) {
	var results []*providertest.Result
	for _, h := range conformanceHarnesses(t) {
		results = append(results, providertest.Run(t, h))
	}
	t.Logf("\n%s\n%s", providertest.Table(results...), providertest.Summary(results...))
}
