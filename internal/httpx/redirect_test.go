package httpx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/httpx"
)

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b string
		want bool
	}{
		{"https://api.example.com/v1", "https://api.example.com/v2/x", true},
		{"https://api.example.com", "https://API.Example.COM/", true},
		{"https://api.example.com", "https://api.example.com:443/", true},
		{"http://127.0.0.1", "http://127.0.0.1:80/x", true},
		{"https://api.example.com", "http://api.example.com", false},
		{"http://api.example.com", "https://api.example.com", false},
		{"https://api.example.com", "https://api.example.com:8443", false},
		{"https://api.example.com", "https://evil.example.com", false},
		{"https://api.example.com", "https://api.example.com.evil.io", false},
		{"http://127.0.0.1:8080", "http://localhost:8080", false},
		{"https://[::1]:443", "https://[::1]", true},
	}
	for _, tc := range cases {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if got := httpx.SameOrigin(a, b); got != tc.want {
			t.Errorf("SameOrigin(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestClient_RedirectPolicyReplacesInjectedClients: httpx.New applies the
// one policy also to an injected *http.Client that allows every redirect,
// and a refused redirect is a definite 3xx *APIError that names the
// target's origin and what to change.
func TestClient_RedirectPolicyReplacesInjectedClients(t *testing.T) {
	t.Parallel()
	var hits int
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	t.Cleanup(target.Close)
	hops := 0
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/loop":
			hops++
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/away":
			http.Redirect(w, r, target.URL+"/x", http.StatusTemporaryRedirect)
		case "/here":
			http.Redirect(w, r, "/final", http.StatusPermanentRedirect)
		case "/final":
			_, _ = w.Write([]byte(`{"ok":true}`))
		}
	}))
	t.Cleanup(origin.Close)
	permissive := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	c := httpx.New(httpx.WithHTTPClient(permissive), httpx.WithMaxAttempts(1), httpx.WithService("svc"))
	ctx := context.Background()

	resp, err := c.Do(ctx, &httpx.Request{Method: http.MethodPost, URL: origin.URL + "/here", Body: []byte(`{}`)})
	if err != nil || string(resp.Body) != `{"ok":true}` {
		t.Fatalf("same-origin redirect: %v", err)
	}
	_, err = c.Do(ctx, &httpx.Request{Method: http.MethodPost, URL: origin.URL + "/away", Body: []byte(`{}`)})
	if hits != 0 {
		t.Fatalf("the cross-origin target was reached %d time(s)", hits)
	}
	if diff := cmp.Diff(http.StatusTemporaryRedirect, httpx.StatusOf(err)); diff != "" {
		t.Fatalf("status (-want +got):\n%s", diff)
	}
	if want := "it pointed to " + target.URL; err == nil || !strings.Contains(err.Error(), "redirect not followed") || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v does not say the redirect was refused and where it pointed", err)
	}
	if httpx.Ambiguous(err) {
		t.Fatalf("a refused redirect is ambiguous; it is a definite answer")
	}
	_, err = c.Do(ctx, &httpx.Request{Method: http.MethodGet, URL: origin.URL + "/loop"})
	if httpx.StatusOf(err) != http.StatusFound || hops != 6 {
		t.Fatalf("redirect loop: status %d after %d hops, want 302 after 6 (5 followed)", httpx.StatusOf(err), hops)
	}
	if permissive.CheckRedirect == nil {
		t.Fatalf("the injected client was modified")
	}
}
