package groo_test

import (
	"net/http/httptest"
	"testing"

	fakegroo "github.com/tokenmint/tokenmint/internal/fake/groo"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/groo"
	"github.com/tokenmint/tokenmint/internal/provider/providertest"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// harness plugs the Groo provider into the conformance suite with one
// kind of admin key (the client secret or a PAT). bareList makes the fake
// answer listings as a bare array; deleteStatus is 204 or 200.
func harness(name, key string, bareList bool, deleteStatus int) providertest.Harness {
	return providertest.Harness{
		Name:     name,
		AdminKey: key,
		Routes: providertest.Routes{
			Create: fakegroo.RouteCreate,
			List:   fakegroo.RouteList,
			Revoke: fakegroo.RouteRevoke,
		},
		Caps:       providertest.Caps{CanList: true, HasExpiry: true},
		MaxNameLen: groo.MaxNameLen,
		UnknownID:  "00000000-0000-0000-0000-000000000000",
		New: func(t testing.TB, env providertest.Env) providertest.Instance {
			f := fakegroo.New(clientID, clientSecret)
			f.AddPAT(validPAT, true)
			f.SetBareList(bareList)
			f.SetDeleteStatus(deleteStatus)
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			p, err := groo.New(provider.Options{APIURL: srv.URL, AdminKey: redact.Secret(key), ClientID: clientID, HTTP: env.HTTP, Warnf: env.Warnf})
			if err != nil {
				t.Fatalf("failed to build provider: %v", err)
			}
			return providertest.Instance{Provider: p, Server: f.Server}
		},
	}
}

// TestConformance runs the provider conformance suite with the client
// secret and with a PAT (not t.Parallel: the suite parallelises its cases
// and measures memory alone).
func TestConformance(t *testing.T) {
	var results []*providertest.Result
	for _, h := range []providertest.Harness{
		harness("groo/client-secret", clientSecret, false, 204),
		harness("groo/pat", validPAT, true, 200),
	} {
		results = append(results, providertest.Run(t, h))
	}
	t.Logf("\n%s\n%s", providertest.Table(results...), providertest.Summary(results...))
}
