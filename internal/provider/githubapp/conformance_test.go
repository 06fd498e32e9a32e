package githubapp_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/fake/ghapp"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/githubapp"
	"github.com/tokenmint/tokenmint/internal/provider/providertest"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// TestConformance runs the shared provider suite against the fake App.
// Installation tokens cannot be listed, so lost creates are not reconciled
// (they expire within the hour).
func TestConformance(t *testing.T) {
	key := ghapp.TestKey(0).PKCS1PEM()
	providertest.Run(t, providertest.Harness{
		Name:     "github-app",
		AdminKey: key,
		Routes:   providertest.Routes{Create: ghapp.RouteAccessToken, Revoke: ghapp.RouteRevoke},
		Caps:     providertest.Caps{HasExpiry: true},
		Skip: map[string]string{
			"mint_scopes_ttl":             "a mint is two requests (installation lookup, then create) and tokens have no service-side ID; covered by TestClient_Mint_targets",
			"create_429_retry_after":      "a mint is two requests (installation lookup, then create)",
			"create_hostile_error_bodies": "a mint is two requests (installation lookup, then create)",
			"revoke_unknown_id":           "revocation is by the token itself, not an ID; covered by TestClient_Revoke",
		},
		Request: func(name string) provider.MintRequest {
			return provider.MintRequest{Name: name, Owner: ghapp.DefaultOrg, Repositories: []string{"alpha"}, Permissions: map[string]string{"contents": "read"}, TTL: time.Hour}
		},
		New: func(t testing.TB, env providertest.Env) providertest.Instance {
			f := ghapp.NewDefault("")
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			p, err := githubapp.New(provider.Options{APIURL: srv.URL, ClientID: ghapp.DefaultClientID, AdminKey: redact.Secret(key), HTTP: env.HTTP, Warnf: env.Warnf})
			if err != nil {
				t.Fatal(err)
			}
			return providertest.Instance{Provider: p, Server: f.Server}
		},
	})
}
