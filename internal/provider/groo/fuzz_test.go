package groo_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/groo"
	"github.com/tokenmint/tokenmint/internal/provider/providertest"
	"github.com/tokenmint/tokenmint/internal/redact"
)

const fuzzSecret = "groo_client_secret_fuzz_0123"

// FuzzDecode answers every Groo call with a fuzzed status and body, with a
// client secret or a PAT: no panic, no token without an ID and secret, no
// listed secret.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct {
		status uint8
		pat    bool
		body   string
	}{
		{0, false, `{"token":{"id":"t1","name":"n","expiresAt":"2030-01-02T00:00:00Z"},"secret":"groo_tok_x"}`},
		{1, true, `{"token":{"id":"t1"},"secret":""}`},
		{0, false, `{"token":{"id":""},"secret":"groo_tok_x"}`},
		{0, false, `{"token":{"id":"t1","expiresAt":"soon"},"secret":"groo_tok_x"}`},
		{0, false, `{"tokens":[{"id":"t1","name":"n"}]}`},
		{0, true, `[{"id":"t1","name":"n","expiresAt":"2000-01-01T00:00:00Z"}]`},
		{2, false, ``},
		{5, false, `{"error":"unauthorized"}`},
		{12, false, `oops`},
		{0, false, `null`},
	} {
		f.Add(s.status, s.pat, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status uint8, pat bool, body []byte) {
		key := fuzzSecret
		if pat {
			key = groo.PATPrefix + strings.Repeat("ab", 32)
		}
		providertest.CheckDecode(t, func(apiURL string, hc *httpx.Client) (provider.Provider, error) {
			return groo.New(provider.Options{APIURL: apiURL, AdminKey: redact.Secret(key), ClientID: "client-1", HTTP: hc})
		}, provider.MintRequest{Name: "tokenmint-fuzz", TTL: time.Hour}, key, status, body)
	})
}
