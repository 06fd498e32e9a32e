package tooken_test

import (
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/providertest"
	"github.com/tokenmint/tokenmint/internal/provider/tooken"
)

const fuzzKey = "tk_admin_fuzz_0123456789"

// FuzzDecode answers every Tooken call with a fuzzed status and body: no
// panic, no token without an ID and secret, no listed secret.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct {
		status uint8
		body   string
	}{
		{0, `{"id":"tok_1","token":"tmk_x","name":"n","scopes":["tokens:read"],"status":"active","created_at":"2030-01-01T00:00:00Z","expires_at":"2030-01-02T00:00:00Z"}`},
		{1, `{"id":"tok_1","token":"","expires_at":null}`},
		{0, `{"id":"","token":"tmk_x"}`},
		{0, `{"id":"tok_1","token":"tmk_x","expires_at":"tomorrow"}`},
		{0, `{"data":[{"id":"tok_1","name":"n","status":"revoked","token":"leak"}],"meta":{"page":1,"per_page":100,"total":1}}`},
		{0, `{"data":[{"id":"tok_1","name":"n"}],"meta":{"total":1000000}}`},
		{4, `{"error":"invalid_scope","message":"::add-mask::x"}`},
		{11, `{"error":"rate_limited"}`},
		{12, `<html>`},
		{0, `[]`},
		{0, `null`},
		{0, ``},
	} {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status uint8, body []byte) {
		providertest.CheckDecode(t, func(apiURL string, hc *httpx.Client) (provider.Provider, error) {
			return tooken.New(provider.Options{APIURL: apiURL, AdminKey: fuzzKey, HTTP: hc})
		}, provider.MintRequest{Name: "tokenmint-fuzz", Scopes: []string{"tokens:read"}, TTL: time.Hour}, fuzzKey, status, body)
	})
}
