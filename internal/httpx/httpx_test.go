package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/redact"
)

var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// reply is one scripted answer.
type reply struct {
	status int
	header map[string]string
	body   string
}

// script answers requests in order (the last answer repeats) and records
// each request's method and body.
type script struct {
	mu      sync.Mutex
	replies []reply
	calls   int
	bodies  []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := min(s.calls, len(s.replies)-1)
	s.calls++
	s.bodies = append(s.bodies, string(b))
	rep := s.replies[i]
	s.mu.Unlock()
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

func (s *script) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func newServer(t *testing.T, replies ...reply) (*httptest.Server, *script) {
	t.Helper()
	s := &script{replies: replies}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, s
}

func newClient(srv *httptest.Server, clk *fake.Clock, opts ...httpx.Option) *httpx.Client {
	hc := http.DefaultClient
	if srv != nil {
		hc = srv.Client()
	}
	base := []httpx.Option{
		httpx.WithHTTPClient(hc),
		httpx.WithClock(clk.Now, clk.Sleep),
		httpx.WithBackoff(10*time.Millisecond, 40*time.Millisecond),
		httpx.WithService("Test API"),
	}
	return httpx.New(append(base, opts...)...)
}

func TestDo_RetriesByMethod(t *testing.T) {
	t.Parallel()
	fail500 := reply{status: 500, body: `{"error":"internal"}`}
	ok := reply{status: 200, body: `{}`}
	cases := []struct {
		name      string
		method    string
		safe      bool
		replies   []reply
		wantCalls int
		wantErr   bool
	}{
		{name: "get_5xx_retried", method: http.MethodGet, replies: []reply{fail500, {status: 502}, ok}, wantCalls: 3},
		{name: "delete_5xx_retried", method: http.MethodDelete, replies: []reply{{status: 503}, ok}, wantCalls: 2},
		{name: "put_5xx_retried", method: http.MethodPut, replies: []reply{fail500, ok}, wantCalls: 2},
		{name: "post_5xx_not_retried", method: http.MethodPost, replies: []reply{fail500, ok}, wantCalls: 1, wantErr: true},
		{name: "patch_5xx_not_retried", method: http.MethodPatch, replies: []reply{fail500, ok}, wantCalls: 1, wantErr: true},
		{name: "post_safe_5xx_retried", method: http.MethodPost, safe: true, replies: []reply{fail500, ok}, wantCalls: 2},
		{name: "post_429_retried", method: http.MethodPost, replies: []reply{{status: 429}, ok}, wantCalls: 2},
		{name: "get_4xx_not_retried", method: http.MethodGet, replies: []reply{{status: 404}, ok}, wantCalls: 1, wantErr: true},
		{name: "get_403_plain_not_retried", method: http.MethodGet, replies: []reply{{status: 403}, ok}, wantCalls: 1, wantErr: true},
		{name: "get_5xx_until_max_attempts", method: http.MethodGet, replies: []reply{fail500}, wantCalls: httpx.DefaultMaxAttempts, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, s := newServer(t, tc.replies...)
			c := newClient(srv, fake.NewClock(epoch))
			_, err := c.Do(context.Background(), &httpx.Request{Method: tc.method, URL: srv.URL + "/x", Body: []byte(`{}`), Safe: tc.safe})
			if diff := cmp.Diff(tc.wantErr, err != nil); diff != "" {
				t.Fatalf("error %v (-want +got):\n%s", err, diff)
			}
			if diff := cmp.Diff(tc.wantCalls, s.Calls()); diff != "" {
				t.Fatalf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDo_OKStatuses(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, reply{status: 404, body: `{"error":"not_found"}`})
	c := newClient(srv, fake.NewClock(epoch))
	resp, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodDelete, URL: srv.URL, OK: []int{404, 410}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(404, resp.Status); diff != "" {
		t.Fatalf("status (-want +got):\n%s", diff)
	}
}

// refusedURL returns a loopback URL nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr + "/x"
}

func TestDo_RefusedConnection(t *testing.T) {
	t.Parallel()
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		t.Run(strings.ToLower(method), func(t *testing.T) {
			t.Parallel()
			clk := fake.NewClock(epoch)
			c := newClient(nil, clk, httpx.WithHTTPClient(&http.Client{}))
			_, err := c.Do(context.Background(), &httpx.Request{Method: method, URL: refusedURL(t), Body: []byte(`{"a":1}`)})
			var te *httpx.TransportError
			if !errors.As(err, &te) {
				t.Fatalf("error %v is not a *TransportError", err)
			}
			got := []any{te.Sent, httpx.Ambiguous(err), httpx.Retryable(err), len(clk.Waits())}
			want := []any{false, false, true, httpx.DefaultMaxAttempts - 1}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("sent, ambiguous, retryable, waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDo_RateLimitWaits(t *testing.T) {
	t.Parallel()
	ok := reply{status: 200, body: `{}`}
	cases := []struct {
		name     string
		first    reply
		want     []time.Duration // exact waits; nil means one backoff wait
		wantCall int
	}{
		{
			name:  "retry_after_seconds",
			first: reply{status: 429, header: map[string]string{"Retry-After": "7"}},
			want:  []time.Duration{7 * time.Second}, wantCall: 2,
		},
		{
			name:  "retry_after_http_date",
			first: reply{status: 429, header: map[string]string{"Retry-After": epoch.Add(30 * time.Second).Format(http.TimeFormat)}},
			want:  []time.Duration{30 * time.Second}, wantCall: 2,
		},
		{
			name:  "retry_after_date_in_the_past",
			first: reply{status: 429, header: map[string]string{"Retry-After": epoch.Add(-time.Hour).Format(http.TimeFormat)}},
			want:  nil, wantCall: 2,
		},
		{
			name:  "reset_on_429",
			first: reply{status: 429, header: map[string]string{"X-RateLimit-Reset": fmt.Sprint(epoch.Add(20 * time.Second).Unix())}},
			want:  []time.Duration{21 * time.Second}, wantCall: 2,
		},
		{
			name:  "reset_on_403_with_remaining_0",
			first: reply{status: 403, header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(epoch.Add(10 * time.Second).Unix())}},
			want:  []time.Duration{11 * time.Second}, wantCall: 2,
		},
		{
			name:  "retry_after_on_403",
			first: reply{status: 403, header: map[string]string{"Retry-After": "5"}},
			want:  []time.Duration{5 * time.Second}, wantCall: 2,
		},
		{
			name:  "plain_429_backs_off",
			first: reply{status: 429},
			want:  nil, wantCall: 2,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, s := newServer(t, tc.first, ok)
			clk := fake.NewClock(epoch)
			c := newClient(srv, clk)
			if _, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodPost, URL: srv.URL, Body: []byte(`{}`)}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantCall, s.Calls()); diff != "" {
				t.Fatalf("calls (-want +got):\n%s", diff)
			}
			waits := clk.Waits()
			if tc.want == nil {
				// One backoff: base 10ms, up to 20% jitter, or 0 for a past date.
				if len(waits) != 1 || waits[0] > 12*time.Millisecond {
					t.Fatalf("waits = %v, want one backoff of at most 12ms", waits)
				}
				return
			}
			if diff := cmp.Diff(tc.want, waits); diff != "" {
				t.Fatalf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDo_403WithoutSpentLimitIsNotRateLimited(t *testing.T) {
	t.Parallel()
	srv, s := newServer(t, reply{status: 403, header: map[string]string{"X-RateLimit-Remaining": "12", "X-RateLimit-Reset": fmt.Sprint(epoch.Unix())}})
	c := newClient(srv, fake.NewClock(epoch))
	_, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodGet, URL: srv.URL})
	var ae *httpx.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *APIError", err)
	}
	got := []any{ae.Status, ae.RateLimited(), httpx.Retryable(err), s.Calls()}
	if diff := cmp.Diff([]any{403, false, false, 1}, got); diff != "" {
		t.Fatalf("status, rate limited, retryable, calls (-want +got):\n%s", diff)
	}
}

func TestDo_RetryBudgetExhausted(t *testing.T) {
	t.Parallel()
	srv, s := newServer(t, reply{status: 429, header: map[string]string{"Retry-After": "120"}})
	clk := fake.NewClock(epoch)
	c := newClient(srv, clk, httpx.WithRetryBudget(time.Minute))
	_, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodGet, URL: srv.URL})
	if err == nil || !strings.Contains(err.Error(), "retry budget of 1m0s exhausted") {
		t.Fatalf("error = %v, want the retry budget exhausted", err)
	}
	var ae *httpx.APIError
	if !errors.As(err, &ae) || ae.Status != 429 || !ae.RateLimited() {
		t.Fatalf("error %v does not wrap the 429 *APIError", err)
	}
	if diff := cmp.Diff([]any{1, 0}, []any{s.Calls(), len(clk.Waits())}); diff != "" {
		t.Fatalf("calls, waits (-want +got):\n%s", diff)
	}
}

func TestDo_BudgetCountsWaits(t *testing.T) {
	t.Parallel()
	// 20s waits inside a 50s budget: two waits fit, the third does not.
	srv, s := newServer(t, reply{status: 503, header: map[string]string{"Retry-After": "20"}})
	clk := fake.NewClock(epoch)
	c := newClient(srv, clk, httpx.WithRetryBudget(50*time.Second))
	_, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodGet, URL: srv.URL})
	if err == nil {
		t.Fatal("want an error")
	}
	if diff := cmp.Diff(3, s.Calls()); diff != "" {
		t.Fatalf("calls (-want +got):\n%s", diff)
	}
}

func TestDo_BodyCap(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		status  int
		body    string
		wantErr bool
	}{
		{"at_cap", 200, strings.Repeat("a", 64), false},
		{"over_cap_success", 200, strings.Repeat("a", 65), true},
		{"over_cap_error_status", 500, strings.Repeat("a", 1000), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, s := newServer(t, reply{status: tc.status, body: tc.body})
			c := newClient(srv, fake.NewClock(epoch), httpx.WithMaxBody(64))
			resp, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodGet, URL: srv.URL})
			if !tc.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.body, string(resp.Body)); diff != "" {
					t.Fatalf("body (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, httpx.ErrBodyTooLarge) {
				t.Fatalf("error %v is not ErrBodyTooLarge", err)
			}
			got := []any{s.Calls(), httpx.Retryable(err), httpx.Ambiguous(err)}
			if diff := cmp.Diff([]any{1, false, true}, got); diff != "" {
				t.Fatalf("calls, retryable, ambiguous (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDo_APIErrorMaskedAndNeutralized(t *testing.T) {
	t.Parallel()
	const secret = "tk_admin_9f8e7d6c5b4a"
	cases := []struct {
		name string
		body string
		hdr  map[string]string
	}{
		{"message", `{"error":"invalid_key","message":"key tk_admin_9f8e7d6c5b4a is wrong\n::add-mask::x\n::stop-commands::abc"}`, nil},
		{"nested", `{"error":{"code":"bad ##[group]","message":"tk_admin_9f8e7d6c5b4a\r::error::pwned"}}`, nil},
		{"plain_text", "upstream said tk_admin_9f8e7d6c5b4a\n::warning::x ##[endgroup]", nil},
		{"base64_form", `{"message":"dGtfYWRtaW5fOWY4ZTdkNmM1YjRh"}`, nil},
		{"request_id", `{"message":"x"}`, map[string]string{"X-Request-Id": "tk_admin_9f8e7d6c5b4a\n::add-mask::y"}},
		// A plain body is cut to 200 bytes: a secret across the cut must be
		// masked before, or its first part survives.
		{"plain_text_across_the_cut", strings.Repeat("x", 190) + " tk_admin_9f8e7d6c5b4a", nil},
	}
	masker := redact.NewMasker()
	masker.Add(secret)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newServer(t, reply{status: 400, body: tc.body, header: tc.hdr})
			c := newClient(srv, fake.NewClock(epoch), httpx.WithMasker(masker))
			_, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodGet, URL: srv.URL})
			var ae *httpx.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			text := err.Error()
			for _, f := range redact.Forms(secret) {
				if strings.Contains(text, f) {
					t.Fatalf("error text holds the secret (form %q): %q", f, text)
				}
			}
			if strings.Contains(text, secret[:9]) {
				t.Fatalf("error text holds the start of the secret: %q", text)
			}
			if strings.ContainsAny(text, "\r\n") || strings.Contains(text, "::") || strings.Contains(text, "##[") {
				t.Fatalf("error text is not neutralized: %q", text)
			}
			if !strings.HasPrefix(text, "Test API answered 400 Bad Request") {
				t.Fatalf("error text = %q", text)
			}
		})
	}
}

func TestAPIError_Text(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		hdr  map[string]string
		want string
	}{
		{"code_and_message", `{"error":"invalid_scope","message":"scope x is unknown"}`, nil, "Test API answered 400 Bad Request (invalid_scope): scope x is unknown"},
		{"code_same_as_status", `{"error":"bad_request"}`, nil, "Test API answered 400 Bad Request"},
		{"github_message", `{"message":"Validation Failed"}`, map[string]string{"X-GitHub-Request-Id": "AB:CD"}, "Test API answered 400 Bad Request: Validation Failed [request AB:CD]"},
		{"error_with_spaces_is_message", `{"error":"the key is wrong"}`, nil, "Test API answered 400 Bad Request: the key is wrong"},
		{"plain_text", "  nope  ", nil, "Test API answered 400 Bad Request: nope"},
		{"long_text_cut", strings.Repeat("x", 300), nil, "Test API answered 400 Bad Request: " + strings.Repeat("x", 200)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newServer(t, reply{status: 400, body: tc.body, header: tc.hdr})
			c := newClient(srv, fake.NewClock(epoch))
			_, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodGet, URL: srv.URL})
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Fatalf("text (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(400, httpx.StatusOf(fmt.Errorf("failed to mint: %w", err))); diff != "" {
				t.Fatalf("StatusOf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAmbiguousAndRetryable(t *testing.T) {
	t.Parallel()
	apiErr := func(status int) error {
		srv, _ := newServer(t, reply{status: status})
		_, err := newClient(srv, fake.NewClock(epoch), httpx.WithMaxAttempts(1)).Do(context.Background(), &httpx.Request{Method: http.MethodPost, URL: srv.URL})
		return err
	}
	cases := []struct {
		name          string
		err           error
		ambiguous     bool
		retryable     bool
		wantStatusOf0 bool
	}{
		{name: "nil", err: nil, wantStatusOf0: true},
		{name: "plain_error", err: errors.New("boom"), wantStatusOf0: true},
		{name: "unreadable", err: fmt.Errorf("%w: bad json", httpx.ErrUnreadable), ambiguous: true, wantStatusOf0: true},
		{name: "api_500", err: apiErr(500), ambiguous: true, retryable: true},
		{name: "api_502_wrapped", err: fmt.Errorf("failed to mint: %w", apiErr(502)), ambiguous: true, retryable: true},
		{name: "api_400", err: apiErr(400)},
		{name: "api_409", err: apiErr(409)},
		{name: "api_429", err: apiErr(429), retryable: true},
		{name: "transport_sent", err: &httpx.TransportError{Err: errors.New("reset"), Sent: true}, ambiguous: true, retryable: true, wantStatusOf0: true},
		{name: "transport_timeout", err: &httpx.TransportError{Err: context.DeadlineExceeded, Sent: true, Timeout: true}, ambiguous: true, retryable: true, wantStatusOf0: true},
		{name: "transport_not_sent", err: &httpx.TransportError{Err: errors.New("refused")}, retryable: true, wantStatusOf0: true},
		{name: "transport_body_too_large", err: &httpx.TransportError{Err: httpx.ErrBodyTooLarge, Sent: true}, ambiguous: true, wantStatusOf0: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := []bool{httpx.Ambiguous(tc.err), httpx.Retryable(tc.err), httpx.StatusOf(tc.err) == 0}
			want := []bool{tc.ambiguous, tc.retryable, tc.wantStatusOf0}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("ambiguous, retryable, no status (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDo_BodyResentWhole(t *testing.T) {
	t.Parallel()
	body := `{"name":"tokenmint-x","scopes":["a","b"],"pad":"` + strings.Repeat("z", 10000) + `"}`
	for _, method := range []string{http.MethodPut, http.MethodPost} {
		t.Run(strings.ToLower(method), func(t *testing.T) {
			t.Parallel()
			first := reply{status: 500}
			if method == http.MethodPost {
				first = reply{status: 429}
			}
			srv, s := newServer(t, first, first, reply{status: 201, body: `{}`})
			c := newClient(srv, fake.NewClock(epoch))
			if _, err := c.Do(context.Background(), &httpx.Request{Method: method, URL: srv.URL, Body: []byte(body)}); err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if diff := cmp.Diff([]string{body, body, body}, s.bodies); diff != "" {
				t.Fatalf("bodies (-want +got):\n%.300s", diff)
			}
		})
	}
}

// hang reads the request body (so the server notices the client closing
// the connection) and blocks until the client gives up or the test ends.
func hang(r *http.Request, release <-chan struct{}) {
	_, _ = io.ReadAll(r.Body)
	select {
	case <-r.Context().Done():
	case <-release:
	}
}

func TestDo_PerAttemptTimeout(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := 0
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			hang(r, release) // until the client gives up on this attempt
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	clk := fake.NewClock(epoch)
	c := newClient(srv, clk, httpx.WithTimeout(time.Second))
	resp, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodGet, URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]any{`{"ok":true}`, 2, 1}, []any{string(resp.Body), calls, len(clk.Waits())}); diff != "" {
		t.Fatalf("body, calls, waits (-want +got):\n%s", diff)
	}
}

func TestDo_TimeoutOnPostIsAmbiguous(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hang(r, release)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c := newClient(srv, fake.NewClock(epoch), httpx.WithTimeout(50*time.Millisecond))
	_, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodPost, URL: srv.URL, Body: []byte(`{}`)})
	var te *httpx.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("error %v is not a *TransportError", err)
	}
	if diff := cmp.Diff([]bool{true, true, true}, []bool{te.Timeout, te.Sent, httpx.Ambiguous(err)}); diff != "" {
		t.Fatalf("timeout, sent, ambiguous (-want +got):\n%s", diff)
	}
	if strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("error text holds the URL: %q", err)
	}
}

func TestDo_HeadersAndDefaults(t *testing.T) {
	t.Parallel()
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(204)
	}))
	t.Cleanup(srv.Close)
	c := newClient(srv, fake.NewClock(epoch))
	_, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodPost, URL: srv.URL, Body: []byte(`{}`), Header: http.Header{"Authorization": {"Bearer x"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Bearer x", "application/json", "application/json", "tokenmint/" + httpx.Version}
	if diff := cmp.Diff(want, []string{got.Get("Authorization"), got.Get("Content-Type"), got.Get("Accept"), got.Get("User-Agent")}); diff != "" {
		t.Fatalf("headers (-want +got):\n%s", diff)
	}
}

func TestDo_ContextCancelledStopsRetrying(t *testing.T) {
	t.Parallel()
	srv, s := newServer(t, reply{status: 503})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := newClient(srv, fake.NewClock(epoch))
	_, err := c.Do(ctx, &httpx.Request{Method: http.MethodGet, URL: srv.URL})
	if err == nil {
		t.Fatal("want an error")
	}
	if s.Calls() > 1 {
		t.Fatalf("calls = %d after cancel, want at most 1", s.Calls())
	}
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		body    string
		wantErr string
	}{
		{"valid", `{"id":"a"}`, ""},
		{"syntax", `{"id":"secret-value`, "unreadable response body: 19 bytes of invalid JSON (syntax error at byte 19)"},
		{"type", `{"id":5}`, `unreadable response body: 8 bytes of invalid JSON (field "id" has the wrong type)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v struct {
				ID string `json:"id"`
			}
			err := httpx.DecodeJSON(&httpx.Response{Body: []byte(tc.body)}, &v)
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, httpx.ErrUnreadable) {
					t.Fatalf("error %v is not ErrUnreadable", err)
				}
			}
			if diff := cmp.Diff(tc.wantErr, got); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
		})
	}
}
