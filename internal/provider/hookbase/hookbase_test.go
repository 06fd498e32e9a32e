package hookbase_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	fakehookbase "github.com/tokenmint/tokenmint/internal/fake/hookbase"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/hookbase"
	"github.com/tokenmint/tokenmint/internal/redact"
)

func testClient() *httpx.Client {
	m := redact.NewMasker()
	m.Add(adminKey)
	return httpx.New(httpx.WithTimeout(2*time.Second), httpx.WithBackoff(time.Millisecond, time.Millisecond), httpx.WithMasker(m))
}

// newFake starts a fake and a provider on it.
func newFake(t *testing.T, key string, scopes []string, o fakehookbase.Options, header string) (*fakehookbase.Server, provider.Provider, *[]string) {
	t.Helper()
	f := fakehookbase.New(adminKey, nil, o)
	if key != adminKey {
		f.AddKey(key, scopes)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	warnings := &[]string{}
	p, err := hookbase.New(provider.Options{
		APIURL: srv.URL, AdminKey: redact.Secret(key), HeaderName: header, HTTP: testClient(),
		Warnf: func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			*warnings = append(*warnings, sprintf(format, args...))
		},
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return f, p, warnings
}

// recordingServer answers every create with body and records the request.
func recordingServer(t *testing.T, status int, body string) (string, func() map[string]any) {
	t.Helper()
	var mu sync.Mutex
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = map[string]any{}
		_ = json.Unmarshal(b, &got)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() map[string]any { mu.Lock(); defer mu.Unlock(); return got }
}

const docsAnswer = `{"apiKey":{"id":"key_1","name":"n","prefix":"whr_live_ab...","scopes":["read"],"createdAt":"2026-01-01T00:00:00Z","expiresAt":"2099-01-01T00:00:00Z"},"key":"whr_live_secret1"}`

func TestMint_SendsBothExpiryFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ttl      time.Duration
		wantSecs float64
		wantDays float64
	}{
		{name: "one_hour", ttl: time.Hour, wantSecs: 3600, wantDays: 1},
		{name: "ninety_minutes", ttl: 90 * time.Minute, wantSecs: 5400, wantDays: 1},
		{name: "one_day", ttl: 24 * time.Hour, wantSecs: 86400, wantDays: 1},
		{name: "day_and_an_hour_rounds_up", ttl: 25 * time.Hour, wantSecs: 90000, wantDays: 2},
		{name: "seven_days", ttl: 7 * 24 * time.Hour, wantSecs: 604800, wantDays: 7},
		{name: "fraction_of_second_rounds_up", ttl: 1500 * time.Millisecond, wantSecs: 2, wantDays: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, got := recordingServer(t, http.StatusCreated, docsAnswer)
			p, err := hookbase.New(provider.Options{APIURL: url, AdminKey: adminKey, HTTP: testClient()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Mint(context.Background(), provider.MintRequest{Name: "n", Scopes: []string{"read"}, TTL: tc.ttl}); err != nil {
				t.Fatalf("Mint() error = %v", err)
			}
			want := map[string]any{"name": "n", "scopes": []any{"read"}, "expiresIn": tc.wantSecs, "expiresInDays": tc.wantDays}
			if diff := cmp.Diff(want, got()); diff != "" {
				t.Errorf("request body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMint_ResponseShapes(t *testing.T) {
	t.Parallel()
	exp := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		body       string
		wantID     string
		wantSecret string
		wantExp    time.Time
		wantErr    error
	}{
		{name: "docs_key_beside_api_key", body: docsAnswer, wantID: "key_1", wantSecret: "whr_live_secret1", wantExp: exp},
		{name: "mcp_key_inside_api_key", body: `{"apiKey":{"id":"key_2","name":"n","prefix":"p","scopes":["read"],"expiresAt":"2099-01-01T00:00:00Z","key":"whr_live_secret2"}}`, wantID: "key_2", wantSecret: "whr_live_secret2", wantExp: exp},
		{name: "sdk_data_with_key_prefix", body: `{"data":{"id":"key_3","name":"n","keyPrefix":"p","scopes":["read"],"expiresAt":"2099-01-01T00:00:00.000Z","key":"whr_live_secret3"}}`, wantID: "key_3", wantSecret: "whr_live_secret3", wantExp: exp},
		{name: "null_expiry", body: `{"data":{"id":"key_4","name":"n","scopes":["read"],"expiresAt":null,"key":"whr_live_secret4"}}`, wantID: "key_4", wantSecret: "whr_live_secret4"},
		{name: "neither_api_key_nor_data", body: `{"key":"whr_live_secret5"}`, wantErr: httpx.ErrUnreadable},
		{name: "no_key", body: `{"apiKey":{"id":"key_6","name":"n"}}`, wantErr: httpx.ErrUnreadable},
		{name: "no_id", body: `{"apiKey":{"name":"n"},"key":"whr_live_secret7"}`, wantErr: httpx.ErrUnreadable},
		{name: "bad_expiry", body: `{"apiKey":{"id":"key_8","expiresAt":"next week"},"key":"whr_live_secret8"}`, wantErr: httpx.ErrUnreadable},
		{name: "not_json", body: `<html>`, wantErr: httpx.ErrUnreadable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, _ := recordingServer(t, http.StatusCreated, tc.body)
			p, err := hookbase.New(provider.Options{APIURL: url, AdminKey: adminKey, HTTP: testClient()})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := p.Mint(context.Background(), provider.MintRequest{Name: "n", Scopes: []string{"read"}})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Mint() error = %v, want %v", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "whr_live_secret") {
					t.Errorf("error %q quotes the key", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Mint() error = %v", err)
			}
			got := []any{tok.ID, tok.Secret.Reveal(), tok.ExpiresAt}
			if diff := cmp.Diff([]any{tc.wantID, tc.wantSecret, tc.wantExp}, got); diff != "" {
				t.Errorf("token (-want +got):\n%s", diff)
			}
		})
	}
}

func TestList_Shapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		body        string
		wantIDs     []string
		wantRevoked []bool
		wantErr     error
	}{
		{name: "api_keys", body: `{"apiKeys":[{"id":"key_1","name":"a"},{"id":"key_2","name":"b","expiresAt":"2099-01-01T00:00:00Z"}]}`, wantIDs: []string{"key_1", "key_2"}, wantRevoked: []bool{false, false}},
		{name: "data", body: `{"data":[{"id":"key_1","name":"a","keyPrefix":"whr_"}]}`, wantIDs: []string{"key_1"}, wantRevoked: []bool{false}},
		{name: "empty", body: `{"apiKeys":[]}`},
		{name: "expired_key_counts_as_revoked", body: `{"data":[{"id":"key_1","name":"a","expiresAt":"2001-01-01T00:00:00Z"}]}`, wantIDs: []string{"key_1"}, wantRevoked: []bool{true}},
		{name: "neither_field", body: `{"keys":[]}`, wantErr: httpx.ErrUnreadable},
		{name: "wrong_type", body: `{"apiKeys":{}}`, wantErr: httpx.ErrUnreadable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, _ := recordingServer(t, http.StatusOK, tc.body)
			p, err := hookbase.New(provider.Options{APIURL: url, AdminKey: adminKey, HTTP: testClient()})
			if err != nil {
				t.Fatal(err)
			}
			toks, err := p.List(context.Background(), "")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("List() error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("List() error = %v", err)
			}
			var ids []string
			var revoked []bool
			for _, tok := range toks {
				ids = append(ids, tok.ID)
				revoked = append(revoked, tok.Revoked)
			}
			if diff := cmp.Diff(tc.wantIDs, ids); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRevoked, revoked); diff != "" {
				t.Errorf("revoked (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMint_ExpiryWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		expiry      fakehookbase.ExpiryMode
		wantZero    bool
		wantWarning string // substring; "" means no warning
	}{
		{name: "server_reads_seconds", expiry: fakehookbase.ExpirySeconds},
		{name: "server_reads_days_only", expiry: fakehookbase.ExpiryDays, wantWarning: "later than the requested ttl"},
		{name: "server_ignores_expiry", expiry: fakehookbase.ExpiryIgnored, wantZero: true, wantWarning: "set no expiry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, p, warnings := newFake(t, adminKey, nil, fakehookbase.Options{Expiry: tc.expiry}, "")
			tok, err := p.Mint(context.Background(), provider.MintRequest{Name: "n", Scopes: []string{"read"}, TTL: time.Hour})
			if err != nil {
				t.Fatalf("Mint() error = %v", err)
			}
			if got := tok.ExpiresAt.IsZero(); got != tc.wantZero {
				t.Errorf("expiry zero = %v, want %v", got, tc.wantZero)
			}
			switch {
			case tc.wantWarning == "" && len(*warnings) != 0:
				t.Errorf("warnings = %q, want none", *warnings)
			case tc.wantWarning != "" && (len(*warnings) != 1 || !strings.Contains((*warnings)[0], tc.wantWarning)):
				t.Errorf("warnings = %q, want one containing %q", *warnings, tc.wantWarning)
			}
			for _, w := range *warnings {
				if strings.Contains(w, tok.Secret.Reveal()) || strings.ContainsAny(w, "\r\n") {
					t.Errorf("warning %q leaks the key or breaks the line", w)
				}
			}
		})
	}
}

func TestNew_AuthHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		want   string
	}{
		{name: "default_bearer", header: "", want: "bearer"},
		{name: "authorization", header: "Authorization", want: "bearer"},
		{name: "x_api_key", header: "X-API-Key", want: "x-api-key"},
		{name: "x_api_key_lower_case", header: "x-api-key", want: "x-api-key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, p, _ := newFake(t, adminKey, nil, fakehookbase.Options{}, tc.header)
			if _, err := p.List(context.Background(), ""); err != nil {
				t.Fatalf("List() error = %v", err)
			}
			if diff := cmp.Diff([]string{tc.want}, f.AuthHeaders()); diff != "" {
				t.Errorf("auth headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSpec_Check(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      provider.Options
		wantInput []string
	}{
		{name: "ok", opts: provider.Options{}},
		{name: "x_api_key_ok", opts: provider.Options{HeaderName: "X-API-Key"}},
		{name: "client_id_refused", opts: provider.Options{ClientID: "abc"}, wantInput: []string{"client-id"}},
		{name: "unknown_header", opts: provider.Options{HeaderName: "Cookie"}, wantInput: []string{hookbase.HeaderInput}},
		{name: "both", opts: provider.Options{ClientID: "abc", HeaderName: "X-Token"}, wantInput: []string{"client-id", hookbase.HeaderInput}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inputs, rest := inputerr.List(hookbase.Spec.Check(tc.opts, provider.MintRequest{Scopes: []string{"read"}}))
			var got []string
			for _, e := range inputs {
				got = append(got, e.Input)
			}
			if diff := cmp.Diff(tc.wantInput, got); diff != "" || len(rest) != 0 {
				t.Errorf("input errors (-want +got):\n%s other: %v", diff, rest)
			}
		})
	}
	if _, err := hookbase.New(provider.Options{HeaderName: "Cookie"}); err == nil {
		t.Errorf("New() with an unknown header = nil error, want an input error")
	}
}

func TestSpec_Scopes(t *testing.T) {
	t.Parallel()
	got := []any{hookbase.Spec.Name, hookbase.Spec.Scopes, hookbase.Spec.ScopesRequired, hookbase.Spec.DefaultAPIURL}
	want := []any{"hookbase", []string{"read", "write", "delete"}, true, "https://api.hookbase.app"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
}

func TestMissingScope_ReportedClearly(t *testing.T) {
	t.Parallel()
	const weakKey = "whr_live_weak00000000000000000000"
	tests := []struct {
		name      string
		scopes    []string
		delScope  string
		op        string
		wantScope string // "" means success
	}{
		{name: "delete_without_delete_scope", scopes: []string{"read", "write"}, op: "revoke", wantScope: `"delete"`},
		{name: "delete_with_old_api_needs_write", scopes: []string{"read", "write"}, delScope: "write", op: "revoke"},
		{name: "create_without_write_scope", scopes: []string{"read", "delete"}, op: "mint", wantScope: `"write"`},
		{name: "list_without_read_scope", scopes: []string{"write", "delete"}, op: "list", wantScope: `"read"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, p, _ := newFake(t, weakKey, tc.scopes, fakehookbase.Options{DeleteScope: tc.delScope}, "")
			rec := f.Store.Add(fakeRecord())
			var err error
			switch tc.op {
			case "revoke":
				err = p.Revoke(context.Background(), provider.Token{ID: rec.ID})
			case "mint":
				_, err = p.Mint(context.Background(), provider.MintRequest{Name: "n", Scopes: []string{"read"}, TTL: time.Hour})
			case "list":
				_, err = p.List(context.Background(), "")
			}
			if tc.wantScope == "" {
				if err != nil {
					t.Fatalf("%s error = %v, want success", tc.op, err)
				}
				return
			}
			if httpx.StatusOf(err) != http.StatusForbidden {
				t.Fatalf("%s error = %v, want a 403", tc.op, err)
			}
			if !strings.Contains(err.Error(), "needs the "+tc.wantScope+" scope") {
				t.Errorf("error %q does not name the missing scope %s", err, tc.wantScope)
			}
			if strings.Contains(err.Error(), weakKey) {
				t.Errorf("error %q leaks the admin key", err)
			}
		})
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func fakeRecord() fake.Record {
	return fake.Record{ID: "key_" + fake.RandomHex(4), Name: "victim", Secret: "whr_live_" + fake.RandomHex(8), Scopes: []string{"read"}}
}
