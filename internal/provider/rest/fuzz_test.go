package rest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/providertest"
	"github.com/tokenmint/tokenmint/internal/provider/rest"
)

const fuzzKey = "rest_admin_fuzz_0123456789"

// shippedProfiles are the profiles in testdata/profiles, parsed.
func shippedProfiles(f *testing.F) []*rest.Profile {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "profiles", "*"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no shipped profiles: %v", err)
	}
	var out []*rest.Profile
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		prof, err := rest.Parse(data)
		if err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		out = append(out, prof)
	}
	return out
}

// FuzzDecode answers every call of each shipped profile with a fuzzed
// status and body: no panic, no token without an ID and secret, no listed
// secret.
func FuzzDecode(f *testing.F) {
	profiles := shippedProfiles(f)
	for _, s := range []struct {
		status uint8
		body   string
	}{
		{0, `{"id":"tok_1","token":"tmk_x","name":"n","expires_at":"2030-01-02T00:00:00Z"}`},
		{0, `{"token":{"id":"t1","name":"n","expiresAt":"2030-01-02T00:00:00Z"},"secret":"s"}`},
		{0, `{"key":"hb_x","apiKey":{"id":"k1"}}`},
		{0, `{"data":[{"id":"tok_1","name":"n","token":"leak"}],"meta":{"total":5}}`},
		{0, `{"tokens":[{"id":1.5,"name":["x"]}]}`},
		{0, `{"id":{"a":1},"token":true}`},
		{0, `{"id":"tok_1","token":"x","expires_at":1e300}`},
		{4, `{"error":"bad"}`},
		{11, ``},
		{0, `[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]`},
	} {
		for i := range profiles {
			f.Add(uint8(i), s.status, []byte(s.body))
		}
	}
	f.Fuzz(func(t *testing.T, which, status uint8, body []byte) {
		prof := profiles[int(which)%len(profiles)]
		providertest.CheckDecode(t, func(apiURL string, hc *httpx.Client) (provider.Provider, error) {
			o := provider.Options{APIURL: apiURL, AdminKey: fuzzKey, ClientID: "client-1", HTTP: hc}
			if p, err := rest.NewFromProfile(prof, o); err == nil {
				return p, nil
			}
			o.ClientID = "" // the profile takes no client ID
			return rest.NewFromProfile(prof, o)
		}, provider.MintRequest{Name: "tokenmint-fuzz", TTL: time.Hour}, fuzzKey, status, body)
	})
}

// FuzzParseProfile feeds arbitrary YAML/JSON to the profile parser: it
// never panics, and every refusal is an input error naming
// provider-config.
func FuzzParseProfile(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "profiles", "*"))
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"", "{}", "name: x", "base_url: http://example.com\n", "create: {path: '{{nope}}'}",
		"auth: {bearer: '{{admin_key}}'}\ncreate: {path: /t, response: {id: /id, secret: /s}}\nrevoke: {path: '/t/{{id}}'}",
		"&a [*a, *a, *a]", "a: &a [*a]", "{\"create\":{\"path\":\"/x\",\"body\":{\"a\":\"{{name}}\"}}}",
		"create: {response: {id: '~1/~0', secret: '/a/-'}}", "!!binary aGVsbG8=", "- - - -", "\t\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := rest.Parse(data)
		if err == nil {
			if p == nil {
				t.Fatal("Parse returned neither a profile nor an error")
			}
			return
		}
		ies, others := inputerr.List(err)
		if len(others) > 0 {
			t.Fatalf("Parse error that is not an input error: %v", others)
		}
		for _, ie := range ies {
			if ie.Input != "provider-config" {
				t.Fatalf("Parse error names input %q, want provider-config", ie.Input)
			}
		}
		if len(data) >= 12 && strings.Contains(err.Error(), string(data)) {
			t.Fatalf("Parse error echoes the whole profile: %v", err)
		}
	})
}
