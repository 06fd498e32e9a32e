package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/redact"
)

const (
	testSecret1 = "whsec_first-0123456789abcdef0123"
	testSecret2 = "whsec_second-fedcba9876543210fedc"
	testToken   = "ghp_TESTTOKEN0123456789abcdefghijklmnop"
)

// testNow is the relay's clock in tests.
var testNow = time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)

const testRoutesYAML = `
routes:
  - events: [token.expiring, token.rotated]
    repositories: [octo/app, octo/api]
  - events: [token.revoked]
    repositories: [octo/app]
    event_type: tokenmint-{event}
`

// dispatch is what the fake GitHub received.
type dispatch struct {
	Repo          string
	EventType     string
	ClientPayload map[string]any
}

// fakeGitHub serves POST /repos/{owner}/{repo}/dispatches. respond, when
// set, chooses the answer of the n-th call (1-based, counted per repo); a
// status of 0 means 204 and the call is recorded as delivered.
type fakeGitHub struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	got     []dispatch
	raw     []string // raw request bodies and headers, for leak checks
	calls   map[string]int
	auth    []string
	respond func(repo string, n int, w http.ResponseWriter) bool // true: answered
	block   func(repo string)                                    // called before answering
	// delivered, when set, receives the repo of every recorded dispatch.
	delivered chan string
}

func newFakeGitHub(t testing.TB) *fakeGitHub {
	f := &fakeGitHub{t: t, calls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /repos/{owner}/{repo}/dispatches", f.handle)
	// Every dispatch is checked against GitHub's REST description.
	f.srv = httptest.NewServer(fake.WrapGitHub("", mux))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) handle(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls[repo]++
	n := f.calls[repo]
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	var hdr strings.Builder
	for k, vs := range r.Header {
		if k == "Authorization" {
			continue // holds the token by design
		}
		hdr.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
	}
	f.raw = append(f.raw, hdr.String()+string(body))
	respond, block := f.respond, f.block
	f.mu.Unlock()
	if block != nil {
		block(repo)
	}
	if respond != nil && respond(repo, n, w) {
		return
	}
	var req struct {
		EventType     string         `json:"event_type"`
		ClientPayload map[string]any `json:"client_payload"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, `{"message":"Problems parsing JSON"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.got = append(f.got, dispatch{Repo: repo, EventType: req.EventType, ClientPayload: req.ClientPayload})
	delivered := f.delivered
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	if delivered != nil {
		delivered <- repo
	}
}

func (f *fakeGitHub) dispatches() []dispatch {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]dispatch(nil), f.got...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Repo != out[j].Repo {
			return out[i].Repo < out[j].Repo
		}
		return out[i].EventType < out[j].EventType
	})
	return out
}

func (f *fakeGitHub) callCount(repo string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[repo]
}

type testRelay struct {
	*Relay
	gh     *fakeGitHub
	srv    *httptest.Server
	logs   *fake.SyncBuffer
	sleeps *fake.Clock // the relay's clock: records its waits, advances by them
}

// newTestRelay starts a relay (fixed clock, recorded sleeps, JSON logs in a
// buffer) in front of a fake GitHub. mod may adjust the Config.
func newTestRelay(t testing.TB, mod func(*Config)) *testRelay {
	t.Helper()
	gh := newFakeGitHub(t)
	routes, err := ParseRoutes([]byte(testRoutesYAML))
	if err != nil {
		t.Fatalf("ParseRoutes: %v", err)
	}
	logs := &fake.SyncBuffer{}
	sleeps := fake.NewClock(testNow)
	cfg := Config{
		Routes:       routes,
		Secrets:      []redact.Secret{testSecret1, testSecret2},
		GitHubToken:  testToken,
		GitHubAPIURL: gh.srv.URL,
		Concurrency:  2,
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		now:          sleeps.Now,
		sleep:        sleeps.Sleep,
		backoff:      time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Shutdown(ctx)
	})
	return &testRelay{Relay: r, gh: gh, srv: srv, logs: logs, sleeps: sleeps}
}

// drain shuts the relay down, which waits for the webhooks in progress.
func (tr *testRelay) drain(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// post sends body with the given signature header (omitted when sig is
// "-") and returns the status.
func (tr *testRelay) post(t testing.TB, body []byte, sig string) int {
	t.Helper()
	st, _ := tr.postResp(t, body, sig)
	return st
}

// postResp is post that also returns the response headers.
func (tr *testRelay) postResp(t testing.TB, body []byte, sig string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, tr.srv.URL+"/webhook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if sig != "-" {
		req.Header.Set(SignatureHeader, sig)
	}
	resp, err := tr.srv.Client().Do(req)
	if err != nil {
		t.Errorf("POST: %v", err)
		return -1, nil
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header
}

// webhook builds a Tooken envelope.
func webhook(event string, ts any, id, name string) []byte {
	b, _ := json.Marshal(map[string]any{
		"event":     event,
		"timestamp": ts,
		"data":      map[string]any{"id": id, "name": name, "scopes": []string{"tokens:read"}, "expires_at": "2026-11-30T17:00:00Z"},
	})
	return b
}

func bareSign(body []byte, secret redact.Secret) string {
	return strings.TrimPrefix(Sign(body, secret), "sha256=")
}

// assertNoSecrets fails if any test secret (or a form of it) is in s.
func assertNoSecrets(t testing.TB, what, s string) {
	t.Helper()
	for _, sec := range []string{testSecret1, testSecret2, testToken} {
		for _, form := range redact.Forms(sec) {
			if strings.Contains(s, form) {
				t.Errorf("%s holds a secret (a form of one starting %.6s)", what, sec)
			}
		}
	}
}
