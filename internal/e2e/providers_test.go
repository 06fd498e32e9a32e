package e2e

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenmint/tokenmint/internal/fake"
	fakegroo "github.com/tokenmint/tokenmint/internal/fake/groo"
	fakehookbase "github.com/tokenmint/tokenmint/internal/fake/hookbase"
	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
)

// TestAction_Providers runs both phases for every REST provider through
// the action, so each provider's wiring (inputs, state, post) is proven by
// the binary itself: the token is handed out, masked, and revoked.
func TestAction_Providers(t *testing.T) {
	t.Parallel()
	const (
		hookKey    = "whr_live_e2eadminkey0123456789abcdef"
		grooID     = "app_e2e0123"
		grooSecret = "groo_cs_e2esecret0123456789abcdef"
	)
	grooPAT := fakegroo.NewPAT()
	profile, err := os.ReadFile(filepath.Join("..", "..", "testdata", "profiles", "tooken.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		start   func(t *testing.T) (*fake.Server, string) // fake and api-url
		inputs  map[string]string
		secrets []string
		files   map[string]string // workspace files
	}{
		{
			name: "hookbase_bearer",
			start: func(t *testing.T) (*fake.Server, string) {
				f := fakehookbase.New(hookKey, nil, fakehookbase.Options{})
				srv := httptest.NewServer(f)
				t.Cleanup(srv.Close)
				return f.Server, srv.URL
			},
			inputs:  map[string]string{"provider": "hookbase", "admin-key": hookKey, "scopes": "read"},
			secrets: []string{hookKey},
		},
		{
			name: "hookbase_x_api_key",
			start: func(t *testing.T) (*fake.Server, string) {
				f := fakehookbase.New(hookKey, nil, fakehookbase.Options{})
				srv := httptest.NewServer(f)
				t.Cleanup(srv.Close)
				return f.Server, srv.URL
			},
			inputs:  map[string]string{"provider": "hookbase", "admin-key": hookKey, "scopes": "read,write", "auth-header": "X-API-Key"},
			secrets: []string{hookKey},
		},
		{
			name: "groo_client_secret",
			start: func(t *testing.T) (*fake.Server, string) {
				f := fakegroo.New(grooID, grooSecret)
				srv := httptest.NewServer(f)
				t.Cleanup(srv.Close)
				return f.Server, srv.URL
			},
			inputs:  map[string]string{"provider": "groo", "admin-key": grooSecret, "client-id": grooID, "description": "e2e"},
			secrets: []string{grooSecret},
		},
		{
			name: "groo_pat",
			start: func(t *testing.T) (*fake.Server, string) {
				f := fakegroo.New(grooID, grooSecret)
				f.AddPAT(grooPAT, true)
				srv := httptest.NewServer(f)
				t.Cleanup(srv.Close)
				return f.Server, srv.URL
			},
			inputs:  map[string]string{"provider": "groo", "admin-key": grooPAT, "client-id": grooID},
			secrets: []string{grooPAT},
		},
		{
			name: "rest_tooken_profile_from_workspace",
			start: func(t *testing.T) (*fake.Server, string) {
				f := faketooken.New(adminKey, nil)
				srv := httptest.NewServer(f)
				t.Cleanup(srv.Close)
				return f.Server, srv.URL + "/v1"
			},
			inputs:  map[string]string{"provider": "rest", "admin-key": adminKey, "scopes": "tokens:read", "provider-config": ".github/tooken.yaml"},
			secrets: []string{adminKey},
			files:   map[string]string{".github/tooken.yaml": string(profile)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, url := tc.start(t)
			in := map[string]string{"api-url": url}
			for k, v := range tc.inputs {
				in[k] = v
			}
			j := NewJob(t, in)
			for name, body := range tc.files {
				p := filepath.Join(j.Dir, "workspace", name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			m := j.Main(t)
			if m.ExitCode != 0 {
				t.Fatalf("main exit %d\n%s%s", m.ExitCode, m.Stdout, m.Stderr)
			}
			recs := f.Store.All()
			if len(recs) != 1 || j.Outputs["token"] != recs[0].Secret || j.Outputs["token-id"] != recs[0].ID {
				t.Fatalf("outputs do not match the one minted token (%d minted)", len(recs))
			}
			if j.Outputs["expires-at"] == "" {
				t.Errorf("no expiry read back")
			}
			p := j.Post(t)
			if p.ExitCode != 0 || strings.Contains(p.Stdout, "::warning") {
				t.Fatalf("post exit %d\n%s", p.ExitCode, p.Stdout)
			}
			if n := len(f.Store.Live()); n != 0 {
				t.Errorf("%d orphan(s) after post", n)
			}
			if got := f.Total(); got != 2 {
				t.Errorf("requests = %d (%v), want 1 create + 1 revoke", got, f.Requests())
			}
			secrets := append(append([]string{}, tc.secrets...), f.Store.Secrets()...)
			if leaks := j.Leaks(secrets); len(leaks) > 0 {
				t.Errorf("leaks: %v", leaks)
			}
		})
	}
}
