package fakeserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
)

func start(t *testing.T, args ...string) (string, *fake.SyncBuffer) {
	t.Helper()
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "url")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut fake.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, append(args, "--url-file", urlFile, "--github-key-file", filepath.Join(dir, "app.pem")), &out, &errOut, os.Getenv)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Main: %v", err)
		}
	})
	for {
		b, err := os.ReadFile(urlFile)
		if err == nil {
			return strings.TrimSpace(string(b)), &out
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("Main returned before serving: %v (stderr %q)", err, errOut.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestMain_ServicesMounted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	tests := []struct {
		name   string
		args   []string
		scheme string
	}{
		{name: "plain_http_on_loopback", args: []string{"--addr", "127.0.0.1:0"}, scheme: "http"},
		{name: "tls_with_written_certificate", args: []string{"--addr", "127.0.0.1:0", "--tls-ca-file", ca, "--tls-hosts", "fake.test"}, scheme: "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base, out := start(t, tt.args...)
			if !strings.HasPrefix(base, tt.scheme+"://127.0.0.1:") {
				t.Fatalf("base URL %q, want %s://127.0.0.1:PORT", base, tt.scheme)
			}
			client := &http.Client{Timeout: 10 * time.Second}
			if tt.scheme == "https" {
				pemBytes, err := os.ReadFile(ca)
				if err != nil {
					t.Fatal(err)
				}
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pemBytes) {
					t.Fatal("--tls-ca-file holds no certificate")
				}
				client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
			}
			type call struct{ method, path, auth string }
			basic := func(u, p string) string {
				r, _ := http.NewRequest("GET", "http://x", nil)
				r.SetBasicAuth(u, p)
				return r.Header.Get("Authorization")
			}
			calls := map[string]call{
				"tooken_list":         {"GET", "/tooken/v1/tokens", "Bearer " + TookenKey},
				"hookbase_list":       {"GET", "/hookbase/api/api-keys", "Bearer " + HookbaseKey},
				"groo_list":           {"GET", "/groo/v1/applications/" + GrooClientID + "/tokens", basic(GrooClientID, GrooSecret)},
				"secrets_public_key":  {"GET", "/github/repos/octo-org/alpha/actions/secrets/public-key", "Bearer " + GitHubToken},
				"github_app_no_jwt":   {"GET", "/github/app", ""},
				"tooken_wrong_key":    {"GET", "/tooken/v1/tokens", "Bearer " + HookbaseKey},
				"unmounted_prefix":    {"GET", "/tooken/tokens", "Bearer " + TookenKey},
				"health":              {"GET", "/healthz", ""},
				"hookbase_at_top_404": {"GET", "/api/api-keys", "Bearer " + HookbaseKey},
			}
			want := map[string]int{
				"tooken_list": 200, "hookbase_list": 200, "groo_list": 200, "secrets_public_key": 200,
				"github_app_no_jwt": 401, "tooken_wrong_key": 401, "unmounted_prefix": 404, "health": 200, "hookbase_at_top_404": 404,
			}
			got := map[string]int{}
			for name, c := range calls {
				req, err := http.NewRequest(c.method, base+c.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if c.auth != "" {
					req.Header.Set("Authorization", c.auth)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				resp.Body.Close()
				got[name] = resp.StatusCode
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			for svc, u := range APIURLs(base) {
				if !strings.Contains(out.String(), u) {
					t.Errorf("output does not print %s's api-url %s:\n%s", svc, u, out.String())
				}
			}
		})
	}
}

func TestMain_Refuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "non_loopback_without_flag", args: []string{"--addr", "0.0.0.0:0"}, want: "loopback"},
		{name: "lan_address_without_flag", args: []string{"--addr", "192.0.2.1:8080"}, want: "--allow-non-loopback"},
		{name: "unparsable_addr", args: []string{"--addr", "nonsense"}, want: "failed to parse --addr"},
		{name: "positional_argument", args: []string{"extra"}, want: "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			err := Main(context.Background(), tt.args, &out, &errOut, os.Getenv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Main error = %v, want one mentioning %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q before refusing", out.String())
			}
		})
	}
}

func TestMain_AllowNonLoopback(t *testing.T) {
	t.Parallel()
	base, _ := start(t, "--addr", "0.0.0.0:0", "--allow-non-loopback")
	port := base[strings.LastIndex(base, ":"):]
	resp, err := http.Get("http://127.0.0.1" + port + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz = %d", resp.StatusCode)
	}
}

func TestMain_UsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--bogus"}, {"extra-arg"}} {
		err := Main(context.Background(), args, io.Discard, io.Discard, func(string) string { return "" })
		var ue *UsageError
		if !errors.As(err, &ue) || !ue.UsageError() {
			t.Errorf("%v: err = %v, want a *UsageError", args, err)
		}
	}
}
