package tooken_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/tooken"
	"github.com/tokenmint/tokenmint/internal/redact"
)

type env struct {
	fake  *faketooken.Server
	p     provider.Provider
	clock *fake.Clock
}

// setup starts a fake Tooken whose store, the client and the provider share
// one fake clock. key is the admin key the provider uses.
func setup(t *testing.T, key string, scopes []string) env {
	t.Helper()
	c := fake.NewClock(time.Date(2026, 11, 26, 12, 0, 30, 0, time.UTC))
	f := faketooken.New(adminKey, nil)
	f.Store.Now = c.Now
	if key != adminKey {
		f.AddKey(key, scopes)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	m := redact.NewMasker()
	m.Add(key)
	hc := httpx.New(httpx.WithTimeout(2*time.Second), httpx.WithRetryBudget(5*time.Minute), httpx.WithBackoff(time.Millisecond, time.Millisecond),
		httpx.WithMasker(m), httpx.WithClock(c.Now, c.Sleep))
	p, err := tooken.New(provider.Options{APIURL: srv.URL + "/v1", AdminKey: redact.Secret(key), HTTP: hc, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return env{fake: f, p: p, clock: c}
}

func TestList_Paging(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		tokens    int
		wantPages int
	}{
		{name: "none", tokens: 0, wantPages: 1},
		{name: "one_page", tokens: 100, wantPages: 1},
		{name: "just_over_one_page", tokens: 101, wantPages: 2},
		{name: "two_and_a_half_pages", tokens: 250, wantPages: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, adminKey, nil)
			var want []string
			for i := range tc.tokens {
				r := e.fake.Store.Add(fake.Record{ID: fmt.Sprintf("tok_%04d", i), Name: fmt.Sprintf("t-%04d", i), Secret: "tok_live_x" + strconv.Itoa(i), Scopes: []string{"audit:read"}})
				want = append(want, r.ID)
			}
			toks, err := e.p.List(context.Background(), "")
			if err != nil {
				t.Fatalf("List() error = %v", err)
			}
			var got []string
			for _, tok := range toks {
				got = append(got, tok.ID)
				if !tok.Secret.Empty() {
					t.Errorf("listed token %s carries a secret", tok.ID)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
			if got := e.fake.Count("GET /v1/tokens"); got != tc.wantPages {
				t.Errorf("list requests = %d, want %d", got, tc.wantPages)
			}
		})
	}
}

func TestFindByName_ExactAmongPartialMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		find    string
		wantIDs []string
	}{
		{name: "exact", find: "deploy", wantIDs: []string{"tok_a"}},
		{name: "longer_name_is_not_a_match", find: "deploy-prod", wantIDs: []string{"tok_b"}},
		{name: "case_differs", find: "DEPLOY", wantIDs: []string{"tok_c"}},
		{name: "revoked_skipped", find: "old", wantIDs: nil},
		{name: "expired_skipped", find: "expired", wantIDs: nil},
		{name: "absent", find: "deplo", wantIDs: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, adminKey, nil)
			for _, r := range []fake.Record{
				{ID: "tok_a", Name: "deploy"}, {ID: "tok_b", Name: "deploy-prod"}, {ID: "tok_c", Name: "DEPLOY"},
				{ID: "tok_d", Name: "old", Revoked: true}, {ID: "tok_e", Name: "expired", ExpiresAt: e.clock.Now().Add(-time.Hour)},
			} {
				e.fake.Store.Add(r)
			}
			found, err := provider.FindByName(context.Background(), e.p, tc.find)
			if err != nil {
				t.Fatalf("FindByName() error = %v", err)
			}
			var ids []string
			for _, f := range found {
				ids = append(ids, f.ID)
			}
			if diff := cmp.Diff(tc.wantIDs, ids); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestList_SendsNameFilter(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		fake.JSON(w, http.StatusOK, map[string]any{"data": []any{}, "meta": map[string]int{"page": 1, "per_page": 100, "total": 0}})
	}))
	t.Cleanup(srv.Close)
	p, err := tooken.New(provider.Options{APIURL: srv.URL, AdminKey: adminKey, HTTP: httpx.New()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.List(context.Background(), "tokenmint-a b&c"); err != nil {
		t.Fatalf("List() error = %v", err)
	}
	if _, err := p.List(context.Background(), ""); err != nil {
		t.Fatalf("List() error = %v", err)
	}
	want := []string{"name=tokenmint-a+b%26c&page=1&per_page=100", "page=1&per_page=100"}
	if diff := cmp.Diff(want, queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
}

func TestMissingScope_Forbidden(t *testing.T) {
	t.Parallel()
	const weakKey = "tok_live_weak000000000000000000000"
	tests := []struct {
		name      string
		scopes    []string
		op        func(context.Context, provider.Provider) error
		wantScope string
	}{
		{name: "mint_needs_write", scopes: []string{"tokens:read", "tokens:revoke"}, wantScope: "tokens:write",
			op: func(ctx context.Context, p provider.Provider) error {
				_, err := p.Mint(ctx, provider.MintRequest{Name: "n", Scopes: []string{"audit:read"}, TTL: time.Hour})
				return err
			}},
		{name: "list_needs_read", scopes: []string{"tokens:write"}, wantScope: "tokens:read",
			op: func(ctx context.Context, p provider.Provider) error { _, err := p.List(ctx, ""); return err }},
		{name: "revoke_needs_revoke", scopes: []string{"tokens:write"}, wantScope: "tokens:revoke",
			op: func(ctx context.Context, p provider.Provider) error {
				return p.Revoke(ctx, provider.Token{ID: "tok_x"})
			}},
		{name: "rotate_needs_rotate", scopes: []string{"tokens:write"}, wantScope: "tokens:rotate",
			op: func(ctx context.Context, p provider.Provider) error {
				_, err := p.(provider.Rotator).Rotate(ctx, "tok_x")
				return err
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, weakKey, tc.scopes)
			err := tc.op(context.Background(), e.p)
			var ae *httpx.APIError
			if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
				t.Fatalf("error = %v, want a 403 *httpx.APIError", err)
			}
			if !strings.Contains(err.Error(), tc.wantScope) {
				t.Errorf("error %q does not name the missing scope %s", err, tc.wantScope)
			}
			if strings.Contains(err.Error(), weakKey) {
				t.Errorf("error leaks the admin key")
			}
			if got := e.fake.Total(); got != 1 {
				t.Errorf("requests = %d, want 1 (a 403 is not retried)", got)
			}
		})
	}
}

func TestErrorBodies_Parsed(t *testing.T) {
	t.Parallel()
	type got struct {
		Status        int
		Code, Message string
		RequestID     string
	}
	tests := []struct {
		name   string
		status int
		body   string
		header map[string]string
		want   got
	}{
		{name: "documented_shape", status: 409, body: `{"error":"conflict","message":"A token with this name already exists","status":409}`,
			want: got{Status: 409, Code: "conflict", Message: "A token with this name already exists"}},
		{name: "unprocessable_date", status: 422, body: `{"error":"unprocessable_entity","message":"expires_at must be in the future","status":422}`,
			want: got{Status: 422, Code: "unprocessable_entity", Message: "expires_at must be in the future"}},
		{name: "expired_admin_key", status: 401, body: `{"error":"unauthorized","message":"Token has expired","status":401}`,
			want: got{Status: 401, Code: "unauthorized", Message: "Token has expired"}},
		{name: "nested_error_object", status: 400, body: `{"error":{"code":"bad_request","message":"unknown scope"}}`,
			want: got{Status: 400, Code: "bad_request", Message: "unknown scope"}},
		{name: "plain_text", status: 400, body: "Bad Request\n", want: got{Status: 400, Message: "Bad Request"}},
		{name: "empty", status: 400, body: "", want: got{Status: 400}},
		{name: "request_id_kept", status: 400, body: `{"error":"bad_request","message":"x"}`, header: map[string]string{"X-Request-Id": "req_123"},
			want: got{Status: 400, Code: "bad_request", Message: "x", RequestID: "req_123"}},
		{name: "echoed_admin_key_masked", status: 400, body: `{"error":"bad_request","message":"key ` + adminKey + ` is malformed"}`,
			want: got{Status: 400, Code: "bad_request", Message: "key *** is malformed"}},
		{name: "workflow_command_neutralized", status: 400, body: `{"error":"bad_request","message":"::add-mask::x"}`,
			want: got{Status: 400, Code: "bad_request", Message: ":\u200b:add-mask:\u200b:x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, adminKey, nil)
			e.fake.Push("POST /v1/tokens", fake.Fault{Status: tc.status, Body: tc.body, Header: tc.header})
			_, err := e.p.Mint(context.Background(), provider.MintRequest{Name: "n", Scopes: []string{"audit:read"}, TTL: time.Hour})
			var ae *httpx.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error = %v, want an *httpx.APIError", err)
			}
			if diff := cmp.Diff(tc.want, got{ae.Status, ae.Code, ae.Message, ae.RequestID}); diff != "" {
				t.Errorf("parsed error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRateLimit_WaitsAsTold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		header   func(now time.Time) map[string]string
		wantWait time.Duration
	}{
		{name: "retry_after_seconds", wantWait: 7 * time.Second,
			header: func(time.Time) map[string]string { return map[string]string{"Retry-After": "7"} }},
		{name: "retry_after_http_date", wantWait: 20 * time.Second,
			header: func(now time.Time) map[string]string {
				return map[string]string{"Retry-After": now.Add(20 * time.Second).Format(http.TimeFormat)}
			}},
		{name: "reset_header_without_retry_after", wantWait: 31 * time.Second,
			header: func(now time.Time) map[string]string {
				return map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(now.Add(30*time.Second).Unix(), 10)}
			}},
		{name: "retry_after_wins_over_reset", wantWait: 2 * time.Second,
			header: func(now time.Time) map[string]string {
				return map[string]string{"Retry-After": "2", "X-RateLimit-Reset": strconv.FormatInt(now.Add(50*time.Second).Unix(), 10)}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, adminKey, nil)
			e.fake.Push("POST /v1/tokens", fake.Fault{Status: 429, Header: tc.header(e.clock.Now()), Body: `{"error":"rate_limited","message":"Rate limit exceeded","status":429}`})
			tok, err := e.p.Mint(context.Background(), provider.MintRequest{Name: "n", Scopes: []string{"audit:read"}, TTL: time.Hour})
			if err != nil {
				t.Fatalf("Mint() error = %v", err)
			}
			if diff := cmp.Diff([]time.Duration{tc.wantWait}, e.clock.Waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if got := e.fake.Count("POST /v1/tokens"); got != 2 {
				t.Errorf("creates = %d, want 2", got)
			}
			if n := e.fake.Store.Orphans(tok.ID); n != 0 {
				t.Errorf("orphans = %d, want 0", n)
			}
		})
	}
}

// TestRateLimit_RealWindow drives the fake's own limiter: the second call
// of a window gets 429 with X-RateLimit-Reset and succeeds once the client
// has waited until the reset.
func TestRateLimit_RealWindow(t *testing.T) {
	t.Parallel()
	e := setup(t, adminKey, nil)
	e.fake.SetRateLimit(1)
	ctx := context.Background()
	tok, err := e.p.Mint(ctx, provider.MintRequest{Name: "n", Scopes: []string{"audit:read"}, TTL: time.Hour})
	if err != nil {
		t.Fatalf("Mint() error = %v", err)
	}
	if err := e.p.Revoke(ctx, *tok); err != nil {
		t.Fatalf("Revoke() error = %v", err)
	}
	// The clock starts 30s into a minute: the reset is 30s away, plus 1s.
	if diff := cmp.Diff([]time.Duration{31 * time.Second}, e.clock.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"POST /v1/tokens", "DELETE /v1/tokens/{id}", "DELETE /v1/tokens/{id}"}, e.fake.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if n := e.fake.Store.Orphans(); n != 0 {
		t.Errorf("orphans = %d, want 0", n)
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	e := setup(t, adminKey, nil)
	ctx := context.Background()
	tok, err := e.p.Mint(ctx, provider.MintRequest{Name: "get-me", Scopes: []string{"tokens:read"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	g := e.p.(provider.Getter)
	got, err := g.Get(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := provider.Token{ID: tok.ID, Name: "get-me", Scopes: []string{"tokens:read"}, CreatedAt: tok.CreatedAt, ExpiresAt: tok.ExpiresAt}
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	if err := e.p.Revoke(ctx, *tok); err != nil {
		t.Fatal(err)
	}
	if got, err := g.Get(ctx, tok.ID); err != nil || !got.Revoked {
		t.Errorf("Get after revoke = %+v, %v; want the token marked revoked", got, err)
	}
	if _, err := g.Get(ctx, "tok_unknown"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Get of an unknown ID = %v, want ErrNotFound", err)
	}
	if n := e.fake.Count("GET /v1/tokens/{id}"); n != 3 {
		t.Errorf("GET /tokens/{id} requests = %d, want 3", n)
	}
}
