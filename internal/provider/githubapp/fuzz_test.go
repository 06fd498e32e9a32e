package githubapp_test

import (
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/fake/ghapp"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/githubapp"
	"github.com/tokenmint/tokenmint/internal/provider/providertest"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// FuzzDecode answers the installation lookup and the access-token create
// with fuzzed bodies (the second with a fuzzed status): no panic, no token
// without an ID and secret, the private key in no error.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct {
		status        uint8
		install, body string
	}{
		{0, `{"id":42,"app_slug":"my-app","account":{"login":"octo"}}`, `{"token":"ghs_x","expires_at":"2030-01-01T01:00:00Z","permissions":{"contents":"read"},"repositories":[{"name":"r"}]}`},
		{1, `{"id":42}`, `{"token":"ghs_x","expires_at":"not a date"}`},
		{0, `{"id":42}`, `{"token":""}`},
		{0, `{"id":0}`, `{"token":"ghs_x"}`},
		{0, `{"id":-1,"app_slug":"::add-mask::x"}`, `{}`},
		{0, `{"id":9223372036854775807,"app_slug":"a\nb"}`, `{"token":"ghs_x","permissions":{"x":7}}`},
		{8, `{"id":42}`, `{"message":"Validation Failed","errors":[{"resource":"x"}]}`},
		{5, `{"message":"Bad credentials"}`, `{"message":"Bad credentials"}`},
		{0, `[]`, `null`},
	} {
		f.Add(s.status, []byte(s.install), []byte(s.body))
	}
	key := ghapp.TestKey(0).PKCS1PEM()
	f.Fuzz(func(t *testing.T, status uint8, install, body []byte) {
		providertest.CheckDecode(t, func(apiURL string, hc *httpx.Client) (provider.Provider, error) {
			return githubapp.New(provider.Options{APIURL: apiURL, AdminKey: redact.Secret(key), ClientID: "12345", HTTP: hc})
		}, provider.MintRequest{Name: "tokenmint-fuzz", Owner: "octo", Repositories: []string{"r"}, TTL: time.Hour}, key, status, install, body)
	})
}
