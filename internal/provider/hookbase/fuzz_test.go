package hookbase_test

import (
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/hookbase"
	"github.com/tokenmint/tokenmint/internal/provider/providertest"
)

const fuzzKey = "hb_admin_fuzz_0123456789"

// FuzzDecode answers every Hookbase call with a fuzzed status and body
// (both auth headers): no panic, no token without an ID and secret, no
// listed secret.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct {
		status uint8
		xapi   bool
		body   string
	}{
		{0, false, `{"key":"hb_x","apiKey":{"id":"k1","name":"n","keyPrefix":"hb_","scopes":["webhooks:read"],"expiresAt":"2030-01-02T00:00:00Z"}}`},
		{1, true, `{"data":{"id":"k1","key":"hb_x"}}`},
		{0, false, `{"id":"k1","key":"hb_x","expiresAt":null}`},
		{0, false, `{"id":"","key":"hb_x"}`},
		{0, false, `{"apiKeys":[{"id":"k1","name":"n","key":"leak"}]}`},
		{0, true, `{"data":[{"id":"k1","name":"n","expiresAt":"bad"}]}`},
		{2, false, ``},
		{6, false, `{"error":"forbidden","message":"insufficient scope"}`},
		{11, false, `{"error":"rate_limited"}`},
		{0, false, `[{"id":"k1"}]`},
		{0, false, `null`},
	} {
		f.Add(s.status, s.xapi, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status uint8, xapi bool, body []byte) {
		header := ""
		if xapi {
			header = hookbase.HeaderXAPIKey
		}
		providertest.CheckDecode(t, func(apiURL string, hc *httpx.Client) (provider.Provider, error) {
			return hookbase.New(provider.Options{APIURL: apiURL, AdminKey: fuzzKey, HeaderName: header, HTTP: hc})
		}, provider.MintRequest{Name: "tokenmint-fuzz", Scopes: []string{hookbase.Scopes[0]}, TTL: time.Hour}, fuzzKey, status, body)
	})
}
