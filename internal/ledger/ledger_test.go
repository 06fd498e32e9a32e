package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
)

func TestNewNonce(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		n, err := ledger.NewNonce()
		if err != nil {
			t.Fatal(err)
		}
		if !ledger.ValidNonce(n) || len(n) != ledger.NonceLen {
			t.Fatalf("nonce %q has the wrong shape", n)
		}
		if seen[n] {
			t.Fatalf("nonce %q drawn twice", n)
		}
		seen[n] = true
	}
	for _, bad := range []string{"", "abc", "ABCDEFGHIJKLM", "abcdefghijk01", "abcdefghijklmn"} {
		if ledger.ValidNonce(bad) {
			t.Errorf("ValidNonce(%q) = true", bad)
		}
	}
}

// TestNames_EveryLimit: for every limit from 0 to 120 and prefixes of
// every shape, New either refuses the limit with ErrNameLimit (never a
// panic) or every name of every attempt fits, ends in the whole nonce, and
// distinct long prefixes stay distinct.
func TestNames_EveryLimit(t *testing.T) {
	t.Parallel()
	prefixes := []string{"", "x", "tokenmint-octo-org-octo-repo-build-4242-1", strings.Repeat("long-", 60), strings.Repeat("long-", 60) + "b"}
	for _, stamp := range []string{"", ledger.Stamp(time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC))} {
		for limit := 0; limit <= 120; limit++ {
			var firsts []string
			for _, prefix := range prefixes {
				l, err := ledger.New(ledger.Options{Prefix: prefix, Stamp: stamp, MaxNameLen: limit})
				if err != nil {
					if !errors.Is(err, ledger.ErrNameLimit) || limit == 0 || limit >= ledger.MinNameLen+len(stamp)+1 {
						t.Fatalf("limit %d: New = %v", limit, err)
					}
					continue
				}
				for n := 1; n <= ledger.MaxAttempts; n++ {
					name := l.Name(n)
					if limit > 0 && len(name) > limit {
						t.Fatalf("limit %d: name %q is %d long", limit, name, len(name))
					}
					tail := "-" + l.Nonce()
					if n > 1 {
						tail += fmt.Sprintf("-%d", n)
					}
					if !strings.HasSuffix(name, tail) {
						t.Fatalf("limit %d: name %q does not end in %q", limit, name, tail)
					}
				}
				firsts = append(firsts, strings.TrimSuffix(l.Name(1), l.Nonce()))
			}
			if len(firsts) == len(prefixes) && firsts[3] == firsts[4] {
				t.Errorf("limit %d: two long prefixes shortened alike: %q", limit, firsts[3])
			}
		}
	}
}

func TestOwns_ExactNamesOnly(t *testing.T) {
	t.Parallel()
	l, err := ledger.New(ledger.Options{Prefix: "job"})
	if err != nil {
		t.Fatal(err)
	}
	p := &scripted{script: []step{{create: true, err: status(502)}, {err: status(409)}}}
	tok, err := ledger.Mint(context.Background(), p, provider.MintRequest{}, l, fastMint())
	if err != nil {
		t.Fatal(err)
	}
	pending, refused, minted := l.Name(1), l.Name(2), l.Name(3)
	cases := []struct {
		tok  provider.Token
		want bool
	}{
		{provider.Token{ID: "x", Name: pending}, true},
		{provider.Token{ID: tok.ID, Name: minted}, true},
		{provider.Token{ID: "other", Name: minted}, false}, // same name, another token
		{provider.Token{ID: "y", Name: refused}, false},    // 409: someone else's
		{provider.Token{ID: "z", Name: strings.ToUpper(pending)}, false},
		{provider.Token{ID: "z", Name: pending + "x"}, false},
		{provider.Token{ID: "z", Name: pending[1:]}, false},
		{provider.Token{ID: "z", Name: "job"}, false},
		{provider.Token{ID: "z"}, false},
	}
	for _, tc := range cases {
		if got := l.Owns(tc.tok); got != tc.want {
			t.Errorf("Owns(%+v) = %v, want %v", tc.tok, got, tc.want)
		}
	}
	want := []ledger.Entry{{Name: pending, Outcome: ledger.Pending}, {Name: refused, Outcome: ledger.Refused}, {Name: minted, Outcome: ledger.Minted, ID: tok.ID}}
	if diff := cmp.Diff(want, l.Entries()); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestEncodeDecode(t *testing.T) {
	t.Parallel()
	var saved []string
	l, err := ledger.New(ledger.Options{Prefix: "p", MaxNameLen: 40, Save: func(s string) error { saved = append(saved, s); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	p := &scripted{script: []step{{err: status(500)}}}
	if _, err := ledger.Mint(context.Background(), p, provider.MintRequest{}, l, fastMint()); err != nil {
		t.Fatal(err)
	}
	// Saved before each send (2) and after the outcome (1).
	if len(saved) != 3 {
		t.Fatalf("saved %d times, want 3", len(saved))
	}
	if !strings.Contains(saved[0], l.Name(1)) || strings.Contains(saved[0], l.Name(2)) {
		t.Errorf("first save %s: want exactly the first name, before it was sent", saved[0])
	}
	back, err := ledger.Decode(saved[len(saved)-1])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(l.Entries(), back.Entries()); diff != "" {
		t.Errorf("entries after decode (-want +got):\n%s", diff)
	}
	if back.Nonce() != l.Nonce() || back.Name(5) != l.Name(5) {
		t.Errorf("decoded ledger names differ")
	}
	for _, bad := range []string{"{", `{"v":2}`, `{"v":1,"nonce":"x"}`, `{"v":1,"nonce":"abcdefghijklm","names":[{"name":"other","outcome":"pending"}]}`,
		`{"v":1,"nonce":"abcdefghijklm","names":[{"name":"a-abcdefghijklm","outcome":"lost"}]}`} {
		if _, err := ledger.Decode(bad); err == nil {
			t.Errorf("Decode(%s) accepted", bad)
		}
	}
	if e, err := ledger.Decode(""); err != nil || !e.Empty() {
		t.Errorf("Decode(\"\") = %v, %v; want an empty ledger", e, err)
	}
}

func TestMint(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		script  []step
		foreign []string // names someone else already holds
		noList  bool
		listErr error
		// want
		wantErr     string
		wantCreates int
		wantRevoked int // of our own lost attempts
		wantLive    int
		wantProblem string
		wantLog     string
	}{
		{name: "first_try", wantCreates: 1, wantLive: 1},
		{name: "409_first_send_is_someone_elses", script: []step{{err: status(409)}}, wantCreates: 2, wantLive: 1, wantLog: "not this step's"},
		{name: "5xx_before_work", script: []step{{err: status(502)}}, wantCreates: 2, wantLive: 1},
		{name: "5xx_after_work_swept", script: []step{{create: true, err: status(502)}}, wantCreates: 2, wantRevoked: 1, wantLive: 1},
		{name: "dropped_after_work_swept", script: []step{{create: true, err: dropped()}}, wantCreates: 2, wantRevoked: 1, wantLive: 1},
		{name: "lost_and_list_403_warns", script: []step{{create: true, err: status(502)}}, listErr: status(403), wantCreates: 2, wantLive: 2,
			wantProblem: "an admin key with the tokens:read scope"},
		{name: "lost_and_cannot_list", script: []step{{create: true, err: status(502)}}, noList: true, wantCreates: 2, wantLive: 2,
			wantProblem: "cannot look tokens up by name"},
		{name: "definite_4xx_stops", script: []step{{err: status(400)}}, wantCreates: 1, wantErr: "400"},
		{name: "every_attempt_ambiguous", script: []step{{err: status(500)}, {err: status(500)}, {err: status(500)}, {err: status(500)}}, wantCreates: 4,
			wantErr: "failed to mint after 4 attempt(s)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := ledger.New(ledger.Options{Prefix: "job", MaxNameLen: 100})
			if err != nil {
				t.Fatal(err)
			}
			p := &scripted{script: tc.script, noList: tc.noList, listErr: tc.listErr}
			var logs []string
			o := fastMint()
			o.Provider, o.Scope = "tooken", "the tokens:read scope"
			o.Logf = func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }
			tok, err := ledger.Mint(context.Background(), p, provider.MintRequest{}, l, o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Mint: %v", err)
			} else if !l.Owns(*tok) {
				t.Errorf("the ledger does not own the token it minted")
			}
			if got := p.creates(); got != tc.wantCreates {
				t.Errorf("creates = %d, want %d", got, tc.wantCreates)
			}
			if got := len(p.revokedIDs()); got != tc.wantRevoked {
				t.Errorf("revoked %d, want %d", got, tc.wantRevoked)
			}
			if got := p.live(); got != tc.wantLive {
				t.Errorf("live = %d, want %d", got, tc.wantLive)
			}
			prob := l.Problem()
			switch {
			case tc.wantProblem == "" && prob != nil:
				t.Errorf("unexpected problem: %v", prob)
			case tc.wantProblem != "" && (prob == nil || !strings.Contains(prob.Error(), tc.wantProblem) || !strings.Contains(prob.Error(), l.Name(1))):
				t.Errorf("problem = %v, want one naming %s and %q", prob, l.Name(1), tc.wantProblem)
			}
			if tc.wantLog != "" && !strings.Contains(strings.Join(logs, "\n"), tc.wantLog) {
				t.Errorf("logs %q lack %q", logs, tc.wantLog)
			}
		})
	}
}

// TestMint_NeverRevokesForeign: someone else's live token under the very
// name the first attempt sends (a copied state, a hostile guess) answers
// 409; it is never revoked, and the sweep never touches it.
func TestMint_NeverRevokesForeign(t *testing.T) {
	t.Parallel()
	l, err := ledger.New(ledger.Options{Prefix: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	p := &scripted{}
	p.tokens = append(p.tokens, provider.Token{ID: "foreign", Name: l.Name(1)})
	tok, err := ledger.Mint(context.Background(), p, provider.MintRequest{}, l, fastMint())
	if err != nil {
		t.Fatal(err)
	}
	if tok.Name != l.Name(2) || len(p.revokedIDs()) != 0 {
		t.Errorf("name %q, revoked %v; want the second name and nothing revoked", tok.Name, p.revokedIDs())
	}
	l.Sweep(context.Background(), p, "x", "")
	if len(p.revokedIDs()) != 0 {
		t.Errorf("sweep revoked %v", p.revokedIDs())
	}
}

// TestMint_CanceledAfterOneAttempt: a SIGTERM during the first create
// reports one attempt, not the configured four.
func TestMint_CanceledAfterOneAttempt(t *testing.T) {
	t.Parallel()
	l, _ := ledger.New(ledger.Options{Prefix: "p"})
	ctx, cancel := context.WithCancel(context.Background())
	p := &scripted{script: []step{{err: dropped()}}, onMint: cancel}
	_, err := ledger.Mint(ctx, p, provider.MintRequest{}, l, fastMint())
	if err == nil || !strings.Contains(err.Error(), "after 1 attempt(s)") {
		t.Fatalf("error = %v, want one naming 1 attempt", err)
	}
	if diff := cmp.Diff([]string{l.Name(1)}, l.Pending()); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
}

func TestMint_SaveErrorStopsBeforeSending(t *testing.T) {
	t.Parallel()
	l, _ := ledger.New(ledger.Options{Prefix: "p", Save: func(string) error { return errors.New("disk full") }})
	p := &scripted{}
	if _, err := ledger.Mint(context.Background(), p, provider.MintRequest{}, l, fastMint()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error = %v", err)
	}
	if p.creates() != 0 {
		t.Errorf("sent %d creates although the ledger could not be saved", p.creates())
	}
}

// ---- scripted provider ----

type step struct {
	create bool  // the service stores the token
	err    error // what the caller sees (nil: success)
}

type scripted struct {
	mu      sync.Mutex
	script  []step
	noList  bool
	listErr error
	onMint  func()
	tokens  []provider.Token
	revoked []string
	n       int
}

func (s *scripted) Mint(_ context.Context, req provider.MintRequest) (*provider.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.onMint != nil {
		s.onMint()
	}
	st := step{create: true}
	if len(s.script) > 0 {
		st, s.script = s.script[0], s.script[1:]
	}
	for _, t := range s.tokens {
		if t.Name == req.Name {
			return nil, status(409)
		}
	}
	if !st.create && st.err != nil {
		return nil, st.err
	}
	t := provider.Token{ID: fmt.Sprintf("id%d", s.n), Name: req.Name, Secret: "s"}
	s.tokens = append(s.tokens, t)
	if st.err != nil {
		return nil, st.err
	}
	return &t, nil
}

func (s *scripted) Revoke(_ context.Context, t provider.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = append(s.revoked, t.ID)
	for i := range s.tokens {
		if s.tokens[i].ID == t.ID {
			s.tokens[i].Revoked = true
		}
	}
	return nil
}

func (s *scripted) List(context.Context, string) ([]provider.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noList {
		return nil, provider.ErrNotSupported
	}
	if s.listErr != nil {
		return nil, s.listErr
	}
	return append([]provider.Token(nil), s.tokens...), nil
}

func (s *scripted) creates() int { s.mu.Lock(); defer s.mu.Unlock(); return s.n }
func (s *scripted) revokedIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.revoked...)
}
func (s *scripted) live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tokens {
		if !t.Revoked && t.ID != "foreign" {
			n++
		}
	}
	return n
}

func status(code int) error {
	return &httpx.APIError{Service: "svc", Status: code, Message: http.StatusText(code)}
}

func dropped() error {
	return &httpx.TransportError{Service: "svc", Method: "POST", Err: errors.New("connection reset"), Sent: true}
}

func fastMint() ledger.MintOptions {
	return ledger.MintOptions{Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
}
