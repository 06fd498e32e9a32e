package tooken_test

import (
	"net/http/httptest"
	"testing"

	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/providertest"
	"github.com/tokenmint/tokenmint/internal/provider/tooken"
)

const adminKey = "tok_live_admin0123456789abcdef0123"

// Harness plugs the Tooken provider and its fake into the conformance suite.
func Harness() providertest.Harness {
	return providertest.Harness{
		Name:     "tooken",
		AdminKey: adminKey,
		Scopes:   []string{"tokens:read", "webhooks:read"},
		Routes: providertest.Routes{
			Create: "POST /v1/tokens",
			List:   "GET /v1/tokens",
			Revoke: "DELETE /v1/tokens/{id}",
			Rotate: "POST /v1/tokens/{id}/rotate",
		},
		Caps:       providertest.Caps{CanList: true, CanRotate: true, HasScopes: true, HasExpiry: true},
		MaxNameLen: tooken.MaxNameLen,
		UnknownID:  "tok_0000000000000000",
		New: func(t testing.TB, env providertest.Env) providertest.Instance {
			f := faketooken.New(adminKey, nil)
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			p, err := tooken.New(provider.Options{APIURL: srv.URL + "/v1", AdminKey: adminKey, HTTP: env.HTTP, Warnf: env.Warnf})
			if err != nil {
				t.Fatalf("failed to build provider: %v", err)
			}
			return providertest.Instance{Provider: p, Server: f.Server}
		},
	}
}

// TestConformance runs the provider conformance suite (not t.Parallel: the
// suite parallelises its cases and measures memory alone).
func TestConformance(t *testing.T) {
	res := providertest.Run(t, Harness())
	t.Logf("\n%s", providertest.Summary(res))
}
