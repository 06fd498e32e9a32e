// Package verdacciotest connects tests to a real Verdaccio (an npm registry
// with the npm token API), started by .ci/services/verdaccio.sh, which
// exports its address as TOKENMINT_TEST_VERDACCIO_URL. Tests that need it
// skip without it, unless CI is set: then they fail.
//
// Each test makes its own account (NewUser, a unique name), so tests never
// see each other's tokens. Proxy puts a fake.Server in front of the real
// server: faults are injected as for the fakes, and its Store is the real
// server's own view of the account's tokens, read back after every request.
package verdacciotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/fake"
)

// EnvURL is the variable .ci/services/verdaccio.sh exports.
const EnvURL = "TOKENMINT_TEST_VERDACCIO_URL"

// Routes of the npm token API (as fake.Server routes).
const (
	RouteCreate = "POST /-/npm/v1/tokens"
	RouteList   = "GET /-/npm/v1/tokens"
	RouteRevoke = "DELETE /-/npm/v1/tokens/token/{id}"
)

// URL returns the real server's address, or skips the test (fails it when
// CI is set).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: .ci/services/verdaccio.sh must start Verdaccio under CI", EnvURL)
		}
		t.Skipf("no Verdaccio (%s unset; bash .ci/services/verdaccio.sh starts one)", EnvURL)
	}
	return strings.TrimRight(u, "/")
}

// Profile returns the path of the shipped profile, testdata/profiles/verdaccio.yaml.
func Profile(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "testdata", "profiles", "verdaccio.yaml")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shipped profile: %v", err)
	}
	return p
}

// User is an account on the real server.
type User struct {
	URL      string
	Name     string
	Password string
	// Token is the account's login token (what `npm login` stores): the
	// admin key of the verdaccio profile.
	Token string
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewUser registers a new account with a unique name on the server at URL(t).
func NewUser(t testing.TB) *User {
	t.Helper()
	u := &User{URL: URL(t), Name: "tm-" + random(6), Password: "pw-" + random(12)}
	body, _ := json.Marshal(map[string]string{"name": u.Name, "password": u.Password})
	status, data := do(t, http.MethodPut, u.URL+"/-/user/org.couchdb.user:"+u.Name, "", body)
	if status != http.StatusCreated {
		t.Fatalf("failed to create user %s: %d %s", u.Name, status, data)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.Token == "" {
		t.Fatalf("failed to read the login token of %s: %v", u.Name, err)
	}
	u.Token = out.Token
	return u
}

func do(t testing.TB, method, url, bearer string, body []byte) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("failed to call Verdaccio: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, data
}

// Whoami asks the server who token is: 200 and the account name when the
// token works, another status (403 for a revoked token) when it does not.
func (u *User) Whoami(t testing.TB, token string) (int, string) {
	t.Helper()
	status, data := do(t, http.MethodGet, u.URL+"/-/whoami", token, nil)
	var out struct {
		Username string `json:"username"`
	}
	_ = json.Unmarshal(data, &out)
	return status, out.Username
}

// Token is one token as the server lists it.
type Token struct {
	Key      string `json:"key"`
	User     string `json:"user"`
	Readonly bool   `json:"readonly"`
	Created  string `json:"created"`
}

// Tokens is the server's own list of the account's tokens.
func (u *User) Tokens(t testing.TB) []Token {
	t.Helper()
	status, data := do(t, http.MethodGet, u.URL+"/-/npm/v1/tokens", u.Token, nil)
	if status != http.StatusOK {
		t.Fatalf("failed to list tokens of %s: %d %s", u.Name, status, data)
	}
	var out struct {
		Objects []Token `json:"objects"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("failed to read the token list: %v", err)
	}
	return out.Objects
}

// Keys returns the keys of the server's tokens of the account.
func (u *User) Keys(t testing.TB) []string {
	t.Helper()
	var keys []string
	for _, tok := range u.Tokens(t) {
		keys = append(keys, tok.Key)
	}
	return keys
}

// JWTExpiry reads the exp claim of a token (unverified), zero when absent.
func JWTExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(b, &c) != nil || c.Exp == 0 {
		return time.Time{}
	}
	return time.Unix(c.Exp, 0).UTC()
}

// Proxy is a fault-injecting fake.Server in front of the real server for
// one account. Its Store mirrors the server's own list of the account's
// tokens after every request (secrets from the create answers it passed
// on; scopes "read" or "write" from readonly).
type Proxy struct {
	*fake.Server
	URL  string
	user *User

	mu      sync.Mutex
	secrets map[string]string
	resets  int           // creates still to answer with a TCP reset
	hold    time.Duration // creates are answered only after this long
}

// ResetCreates makes the next n creates reach the server and then answer
// with a TCP reset (RST) instead of the server's answer: the create
// happened, its answer is lost.
func (p *Proxy) ResetCreates(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resets = n
}

// HoldCreates makes every create reach the server and then wait d (or the
// client's give-up) before answering: the answer comes too late, or never
// when the client is killed meanwhile.
func (p *Proxy) HoldCreates(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = d
}

// reset closes the client connection with a TCP reset.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST, not FIN
	}
	_ = conn.Close()
}

// NewProxy starts a Proxy for u (closed by t.Cleanup).
func NewProxy(t testing.TB, u *User) *Proxy {
	t.Helper()
	p := &Proxy{Server: fake.NewServer(), user: u, secrets: map[string]string{}}
	for _, route := range []string{RouteCreate, RouteList, RouteRevoke} {
		p.Handle(route, p.forward(t))
	}
	srv := httptest.NewServer(p.Server)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *Proxy) forward(t testing.TB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		//nolint:gosec // a test proxy to the loopback Verdaccio the test started
		req, err := http.NewRequestWithContext(r.Context(), r.Method, p.user.URL+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for _, h := range []string{"Authorization", "Content-Type", "Accept"} {
			if v := r.Header.Get(h); v != "" {
				req.Header.Set(h, v)
			}
		}
		resp, err := http.DefaultClient.Do(req) //nolint:gosec // see above
		if err != nil {
			http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
			return
		}
		data, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if r.Method == http.MethodPost && resp.StatusCode == http.StatusOK {
			var created struct {
				Key   string `json:"key"`
				Token string `json:"token"`
			}
			if json.Unmarshal(data, &created) == nil && created.Key != "" {
				p.mu.Lock()
				p.secrets[created.Key] = created.Token
				p.mu.Unlock()
			}
		}
		if err := p.Sync(); err != nil {
			t.Errorf("failed to read the server's view: %v", err)
		}
		if r.Method == http.MethodPost {
			p.mu.Lock()
			doReset, hold := p.resets > 0, p.hold
			if doReset {
				p.resets--
			}
			p.mu.Unlock()
			if doReset {
				reset(w)
				return
			}
			if hold > 0 {
				select {
				case <-time.After(hold):
				case <-r.Context().Done():
					return
				}
			}
		}
		for k, vs := range resp.Header {
			if k != "Content-Length" {
				w.Header()[k] = vs
			}
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(data)
	}
}

// Sync makes the Store the server's own list of the account's tokens.
func (p *Proxy) Sync() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.user.URL+"/-/npm/v1/tokens", nil)
	if err != nil {
		return fmt.Errorf("failed to list tokens: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+p.user.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("failed to list tokens: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("list answered %d", resp.StatusCode)
	}
	var out struct {
		Objects []Token `json:"objects"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Errorf("failed to read the token list: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	live := map[string]bool{}
	for _, tok := range out.Objects {
		live[tok.Key] = true
		if _, ok := p.Store.Get(tok.Key); ok {
			continue
		}
		scope := "write"
		if tok.Readonly {
			scope = "read"
		}
		created, _ := time.Parse(time.RFC3339, tok.Created)
		secret := p.secrets[tok.Key]
		p.Store.Add(fake.Record{ID: tok.Key, Secret: secret, Scopes: []string{scope}, CreatedAt: created, ExpiresAt: JWTExpiry(secret)})
	}
	for _, r := range p.Store.All() {
		if !live[r.ID] {
			p.Store.Delete(r.ID)
		}
	}
	return nil
}
