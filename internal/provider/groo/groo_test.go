package groo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	fakegroo "github.com/tokenmint/tokenmint/internal/fake/groo"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/groo"
	"github.com/tokenmint/tokenmint/internal/redact"
)

const (
	clientID     = "app_8f3k2"
	clientSecret = "cs_live_0123456789abcdef0123456789abcdef"
)

var validPAT = "groo_pat_" + strings.Repeat("0a1b2c3d", 8)

func noSleep(context.Context, time.Duration) error { return nil }

type env struct {
	fake *fakegroo.Server
	srv  *httptest.Server

	mu      sync.Mutex
	headers []http.Header // of every request, in order
}

func newEnv(t *testing.T) *env {
	t.Helper()
	f := fakegroo.New(clientID, clientSecret)
	f.AddPAT(validPAT, true)
	e := &env{fake: f}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.headers = append(e.headers, r.Header.Clone())
		e.mu.Unlock()
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) lastHeader() http.Header {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.headers) == 0 {
		return http.Header{}
	}
	return e.headers[len(e.headers)-1]
}

func (e *env) provider(t *testing.T, key string) provider.Provider {
	t.Helper()
	p, err := groo.New(provider.Options{
		APIURL:   e.srv.URL,
		AdminKey: redact.Secret(key),
		ClientID: clientID,
		HTTP:     httpx.New(httpx.WithClock(time.Now, noSleep), httpx.WithTimeout(5*time.Second)),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func inputs(err error) []string {
	ies, rest := inputerr.List(err)
	var out []string
	for _, ie := range ies {
		out = append(out, ie.Input)
	}
	for range rest {
		out = append(out, "<not an input error>")
	}
	return out
}

func TestSpec_Check(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		opts   provider.Options
		req    provider.MintRequest
		inputs []string
	}{
		{name: "client_secret", opts: provider.Options{ClientID: clientID, AdminKey: clientSecret}},
		{name: "valid_pat", opts: provider.Options{ClientID: clientID, AdminKey: redact.Secret(validPAT)}},
		{name: "missing_client_id", opts: provider.Options{AdminKey: clientSecret}, inputs: []string{"client-id"}},
		{name: "client_id_with_slash", opts: provider.Options{ClientID: "a/../b", AdminKey: clientSecret}, inputs: []string{"client-id"}},
		{name: "uppercase_prefix_is_a_client_secret", opts: provider.Options{ClientID: clientID, AdminKey: redact.Secret(strings.ToUpper(validPAT))}},
		{name: "pat_uppercase_digits", opts: provider.Options{ClientID: clientID, AdminKey: redact.Secret("groo_pat_" + strings.Repeat("0A1B2C3D", 8))}, inputs: []string{"admin-key"}},
		{name: "pat_too_short", opts: provider.Options{ClientID: clientID, AdminKey: redact.Secret(validPAT[:len(validPAT)-1])}, inputs: []string{"admin-key"}},
		{name: "pat_too_long", opts: provider.Options{ClientID: clientID, AdminKey: redact.Secret(validPAT + "0")}, inputs: []string{"admin-key"}},
		{name: "pat_not_hex", opts: provider.Options{ClientID: clientID, AdminKey: redact.Secret("groo_pat_" + strings.Repeat("zz", 32))}, inputs: []string{"admin-key"}},
		{name: "pat_empty_tail", opts: provider.Options{ClientID: clientID, AdminKey: "groo_pat_"}, inputs: []string{"admin-key"}},
		{name: "scopes_given", opts: provider.Options{ClientID: clientID, AdminKey: clientSecret}, req: provider.MintRequest{Scopes: []string{"read"}}, inputs: []string{"scopes"}},
		{name: "everything_wrong", opts: provider.Options{AdminKey: "groo_pat_nope"}, req: provider.MintRequest{Scopes: []string{"x"}}, inputs: []string{"client-id", "admin-key", "scopes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := groo.Spec.Check(tc.opts, tc.req)
			if diff := cmp.Diff(tc.inputs, inputs(err)); diff != "" {
				t.Errorf("inputs (-want +got):\n%s", diff)
			}
			// The bare prefix is named in the rule on purpose; anything longer is the value.
			if err != nil && len(tc.opts.AdminKey) > len(groo.PATPrefix) && strings.Contains(err.Error(), tc.opts.AdminKey.Reveal()) {
				t.Errorf("error echoes the admin key: %v", err)
			}
		})
	}
}

func TestNew_MalformedPATSendsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bad := "groo_pat_" + strings.Repeat("g", 64)
	_, err := groo.New(provider.Options{APIURL: e.srv.URL, ClientID: clientID, AdminKey: redact.Secret(bad)})
	var ie *inputerr.Error
	if !errors.As(err, &ie) || ie.Input != "admin-key" {
		t.Fatalf("New error = %v, want an admin-key input error", err)
	}
	if strings.Contains(err.Error(), bad) {
		t.Errorf("error echoes the key: %v", err)
	}
	if n := e.fake.Total(); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}

func TestClient_Lifecycle(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		key          string
		bareList     bool
		deleteStatus int
		wantHeader   string // header the fake must have seen
	}{
		{name: "client_secret_wrapped_list_204", key: clientSecret, deleteStatus: 204, wantHeader: "Authorization"},
		{name: "client_secret_bare_list_200", key: clientSecret, bareList: true, deleteStatus: 200, wantHeader: "Authorization"},
		{name: "pat_wrapped_list_200", key: validPAT, deleteStatus: 200, wantHeader: "Cookie"},
		{name: "pat_bare_list_204", key: validPAT, bareList: true, deleteStatus: 204, wantHeader: "Cookie"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.fake.SetBareList(tc.bareList)
			e.fake.SetDeleteStatus(tc.deleteStatus)
			p := e.provider(t, tc.key)
			ctx := context.Background()
			start := time.Now()
			tok, err := p.Mint(ctx, provider.MintRequest{Name: "tokenmint-o-r-1-1-step", Description: "CI deploy", TTL: time.Hour})
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			seen := e.lastHeader()
			if seen.Get(tc.wantHeader) == "" {
				t.Errorf("create request had no %s header", tc.wantHeader)
			}
			if tc.wantHeader == "Cookie" && seen.Get("Authorization") != "" {
				t.Errorf("PAT request also sent Authorization")
			}
			rec, ok := e.fake.Store.Get(tok.ID)
			if !ok {
				t.Fatalf("token %q not in the fake", tok.ID)
			}
			if diff := cmp.Diff(rec.Secret, tok.Secret.Reveal()); diff != "" {
				t.Errorf("secret (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff("CI deploy", rec.Description); diff != "" {
				t.Errorf("description (-want +got):\n%s", diff)
			}
			if d := tok.ExpiresAt.Sub(start.Add(time.Hour)); d < -2*time.Second || d > 2*time.Second {
				t.Errorf("ExpiresAt = %v, want about now+1h", tok.ExpiresAt)
			}
			if tok.Scopes != nil {
				t.Errorf("Scopes = %v, want nil", tok.Scopes)
			}
			found, err := provider.FindByName(ctx, p, "tokenmint-o-r-1-1-step")
			if err != nil {
				t.Fatalf("FindByName: %v", err)
			}
			if len(found) != 1 || found[0].ID != tok.ID || !found[0].Secret.Empty() {
				t.Fatalf("FindByName = %+v, want the minted token without secret", found)
			}
			e.fake.ResetCounts()
			if err := p.Revoke(ctx, *tok); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if err := p.Revoke(ctx, provider.Token{ID: "unknown-id"}); err != nil {
				t.Errorf("Revoke(unknown) = %v, want success", err)
			}
			if diff := cmp.Diff(2, e.fake.Count(fakegroo.RouteRevoke)); diff != "" {
				t.Errorf("revoke requests (-want +got):\n%s", diff)
			}
			if n := e.fake.Store.Orphans(); n != 0 {
				t.Errorf("orphans = %d", n)
			}
		})
	}
}

func TestClient_Errors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		key    string
		setup  func(*fakegroo.Server)
		status int
		unread bool
	}{
		{name: "wrong_secret", key: "cs_wrong_secret_value", status: 401},
		{name: "unknown_pat", key: "groo_pat_" + strings.Repeat("f", 64), status: 401},
		{name: "pat_without_permission", key: "groo_pat_" + strings.Repeat("e", 64), setup: func(s *fakegroo.Server) { s.AddPAT("groo_pat_"+strings.Repeat("e", 64), false) }, status: 403},
		{name: "answer_without_secret", key: clientSecret, setup: func(s *fakegroo.Server) {
			s.Push(fakegroo.RouteCreate, fake.Fault{After: true, RawBody: `{"token":{"id":"x","name":"n"}}`})
		}, unread: true},
		{name: "malformed_json", key: clientSecret, setup: func(s *fakegroo.Server) {
			s.Push(fakegroo.RouteCreate, fake.Fault{After: true, RawBody: `{"token":`})
		}, unread: true},
		{name: "hostile_error_body", key: clientSecret, setup: func(s *fakegroo.Server) {
			s.Push(fakegroo.RouteCreate, fake.Fault{Status: 400, Body: `{"error":"bad\n::stop-commands::x\n` + clientSecret + `"}`})
		}, status: 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e.fake)
			}
			masker := redact.NewMasker()
			masker.Add(tc.key)
			masker.Add(clientSecret)
			p, err := groo.New(provider.Options{
				APIURL: e.srv.URL, AdminKey: redact.Secret(tc.key), ClientID: clientID,
				HTTP: httpx.New(httpx.WithClock(time.Now, noSleep), httpx.WithMasker(masker)),
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			_, err = p.Mint(context.Background(), provider.MintRequest{Name: "n", TTL: time.Hour})
			if err == nil {
				t.Fatal("Mint succeeded, want an error")
			}
			if diff := cmp.Diff(tc.status, httpx.StatusOf(err)); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.unread, errors.Is(err, httpx.ErrUnreadable)); diff != "" {
				t.Errorf("unreadable (-want +got):\n%s", diff)
			}
			msg := err.Error()
			for _, s := range append([]string{tc.key, clientSecret, "\n::"}, e.fake.Store.Secrets()...) {
				if strings.Contains(msg, s) {
					t.Errorf("error %q contains %q", msg, s)
				}
			}
		})
	}
}

func TestMint_LostAnswerLeavesNoOrphan(t *testing.T) {
	t.Parallel()
	for _, key := range []string{clientSecret, validPAT} {
		e := newEnv(t)
		p := e.provider(t, key)
		e.fake.Push(fakegroo.RouteCreate, fake.Fault{After: true, Drop: true})
		l, err := ledger.New(ledger.Options{Prefix: "lost", MaxNameLen: groo.MaxNameLen})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ledger.Mint(context.Background(), p, provider.MintRequest{TTL: time.Hour}, l, ledger.MintOptions{Sleep: noSleep})
		if err != nil {
			t.Fatalf("Mint: %v", err)
		}
		if n := e.fake.Store.Orphans(tok.ID); n != 0 {
			t.Errorf("orphans = %d, want 0", n)
		}
		// The lost name is swept once the next name was minted.
		want := []string{fakegroo.RouteCreate, fakegroo.RouteCreate, fakegroo.RouteList, fakegroo.RouteRevoke}
		if diff := cmp.Diff(want, e.fake.Requests()); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
	}
}
