package githubapp_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/fake/ghapp"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/githubapp"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// The proxy test runs the provider in a child process (this test binary,
// re-executed) so that the real http.ProxyFromEnvironment in
// httpx.NewTransport reads HTTPS_PROXY/NO_PROXY from a process environment
// of the test's choosing: the standard library reads those once per
// process, and tests in this process run in parallel.
const helperEnv = "GHAPP_PROXY_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		if err := proxyHelper(); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// proxyHelper mints and revokes against https://example.com with the
// transport httpx builds. A direct dial of example.com (NO_PROXY) is sent to
// the fake's real address and reported on stdout as "direct".
func proxyHelper() error {
	certPEM, err := os.ReadFile(os.Getenv("GHAPP_CERT"))
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(os.Getenv("GHAPP_KEY"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	tr := httpx.NewTransport()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	var d net.Dialer
	fakeAddr := os.Getenv("GHAPP_FAKE_ADDR")
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == "example.com:443" {
			fmt.Println("direct")
			addr = fakeAddr
		}
		return d.DialContext(ctx, network, addr)
	}
	p, err := githubapp.New(provider.Options{
		APIURL: "https://example.com", ClientID: ghapp.DefaultClientID, AdminKey: redact.Secret(keyPEM),
		HTTP: httpx.New(httpx.WithHTTPClient(&http.Client{Transport: tr}), httpx.WithMaxAttempts(1), httpx.WithTimeout(10*time.Second)),
	})
	if err != nil {
		return err
	}
	tok, err := p.Mint(context.Background(), provider.MintRequest{Owner: "octo-org", Repositories: []string{"alpha"}})
	if err != nil {
		return err
	}
	return p.Revoke(context.Background(), *tok)
}

func TestClient_proxy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		env        func(proxyURL string) []string
		wantDirect bool
	}{
		{name: "https_proxy_used", env: func(u string) []string { return []string{"HTTPS_PROXY=" + u} }},
		{name: "lowercase_https_proxy_used", env: func(u string) []string { return []string{"https_proxy=" + u} }},
		{name: "no_proxy_other_host_still_proxied", env: func(u string) []string { return []string{"HTTPS_PROXY=" + u, "NO_PROXY=ghes.internal,.corp"} }},
		{name: "no_proxy_bypasses", env: func(u string) []string { return []string{"HTTPS_PROXY=" + u, "NO_PROXY=ghes.internal,example.com"} }, wantDirect: true},
		{name: "no_proxy_wildcard_bypasses", env: func(u string) []string { return []string{"HTTPS_PROXY=" + u, "NO_PROXY=*"} }, wantDirect: true},
		// Go's rule: a leading dot matches subdomains only, not the name itself.
		{name: "no_proxy_leading_dot_is_subdomains_only", env: func(u string) []string { return []string{"HTTPS_PROXY=" + u, "no_proxy=.example.com"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ghapp.NewDefault("/api/v3") // https://example.com is a bare GHES host: the client adds /api/v3
			srv := httptest.NewTLSServer(f)
			t.Cleanup(srv.Close)
			px := &fake.ConnectProxy{Target: srv.Listener.Addr().String()}
			psrv := httptest.NewServer(px)
			t.Cleanup(psrv.Close)

			dir := t.TempDir()
			certFile := filepath.Join(dir, "cert.pem")
			if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
				t.Fatal(err)
			}
			keyFile, err := ghapp.TestKey(0).WriteFile(dir, "app.pem")
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(cleanEnv(), helperEnv+"=1", "GHAPP_CERT="+certFile, "GHAPP_KEY="+keyFile, "GHAPP_FAKE_ADDR="+srv.Listener.Addr().String())
			cmd.Env = append(cmd.Env, tc.env(psrv.URL)...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper failed: %v\n%s", err, out)
			}
			if strings.Contains(string(out), "PRIVATE KEY") || strings.Contains(string(out), "ghs_") {
				t.Errorf("helper output leaks a secret: %s", out)
			}
			direct := strings.Contains(string(out), "direct")
			hosts := px.Seen()
			if tc.wantDirect {
				if !direct || len(hosts) != 0 {
					t.Errorf("direct = %v, proxy saw %v; want a direct connection and no CONNECT", direct, hosts)
				}
			} else {
				if direct || len(hosts) == 0 {
					t.Errorf("direct = %v, proxy saw %v; want every connection through the proxy", direct, hosts)
				}
				for _, h := range hosts {
					if h != "example.com:443" {
						t.Errorf("proxy asked for %q, want example.com:443", h)
					}
				}
			}
			got := []int{f.Count(ghapp.RouteRepoInstall), f.Count(ghapp.RouteAccessToken), f.Count(ghapp.RouteRevoke)}
			if diff := cmp.Diff([]int{1, 1, 1}, got); diff != "" {
				t.Errorf("fake requests (-want +got):\n%s", diff)
			}
			if n := len(f.Tokens()); n != 1 || f.Valid(f.Tokens()[0].Token) {
				t.Errorf("want one token, minted and revoked through the proxy; tokens=%d", n)
			}
		})
	}
}

// cleanEnv is the process environment without proxy settings.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "REQUEST_METHOD", helperEnv:
			continue
		}
		out = append(out, kv)
	}
	return out
}
