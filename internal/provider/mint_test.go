package provider_test

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
	"github.com/tokenmint/tokenmint/internal/provider"
)

// step scripts one create: what the service does and what the caller sees.
type step struct {
	create bool  // the service stores the token
	err    error // what Mint returns (nil: success)
}

// scripted is an in-memory Provider whose creates follow a script. Names
// stay taken after a revoke when keepNames is set (as Tooken does).
type scripted struct {
	mu        sync.Mutex
	script    []step
	keepNames bool
	noList    bool
	listErrs  []error
	tokens    []provider.Token
	log       []string
	n         int
}

func (s *scripted) Mint(_ context.Context, req provider.MintRequest) (*provider.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, "create "+req.Name)
	st := step{create: true}
	if len(s.script) > 0 {
		st, s.script = s.script[0], s.script[1:]
	}
	for _, t := range s.tokens {
		if t.Name == req.Name && (s.keepNames || !t.Revoked) {
			return nil, &httpx.APIError{Service: "fake", Status: http.StatusConflict}
		}
	}
	if !st.create && st.err != nil {
		return nil, st.err
	}
	s.n++
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
	s.log = append(s.log, "revoke "+t.ID)
	for i := range s.tokens {
		if s.tokens[i].ID == t.ID {
			s.tokens[i].Revoked = true
		}
	}
	return nil
}

func (s *scripted) List(_ context.Context, _ string) ([]provider.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noList {
		return nil, provider.ErrNotSupported
	}
	s.log = append(s.log, "list")
	if len(s.listErrs) > 0 {
		err := s.listErrs[0]
		s.listErrs = s.listErrs[1:]
		if err != nil {
			return nil, err
		}
	}
	return append([]provider.Token(nil), s.tokens...), nil
}

func (s *scripted) live() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, t := range s.tokens {
		if !t.Revoked {
			out = append(out, t.ID+":"+t.Name)
		}
	}
	return out
}

var (
	errLost    = &httpx.TransportError{Service: "fake", Method: "POST", Err: errors.New("connection reset"), Sent: true}
	err500     = &httpx.APIError{Service: "fake", Status: http.StatusInternalServerError}
	err400     = &httpx.APIError{Service: "fake", Status: http.StatusBadRequest}
	errRefused = &httpx.TransportError{Service: "fake", Method: "POST", Err: errors.New("connection refused")}
)

func TestMint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		script    []step
		keepNames bool
		noList    bool
		listErrs  []error
		pre       []provider.Token
		attempts  int
		wantErr   error // checked with errors.Is; nil: success
		wantName  string
		wantLog   []string
		wantLive  []string
		wantSent  []string // names announced through BeforeCreate
	}{
		{
			name:     "first_try",
			wantName: "n",
			wantLog:  []string{"create n"},
			wantLive: []string{"id1:n"},
			wantSent: []string{"n"},
		},
		{
			name:     "5xx_without_create_retries_same_name",
			script:   []step{{err: err500}, {err: err500}},
			wantName: "n",
			wantLog:  []string{"create n", "list", "create n", "list", "create n"},
			wantLive: []string{"id1:n"},
			wantSent: []string{"n", "n", "n"},
		},
		{
			name:      "lost_create_revoked_then_suffixed_name_without_409",
			script:    []step{{create: true, err: errLost}},
			keepNames: true,
			wantName:  "n-2",
			wantLog:   []string{"create n", "list", "revoke id1", "create n-2"},
			wantLive:  []string{"id2:n-2"},
			wantSent:  []string{"n", "n-2"},
		},
		{
			name:      "conflict_on_first_try_suffixes",
			pre:       []provider.Token{{ID: "old", Name: "n", Revoked: true}},
			keepNames: true,
			wantName:  "n-2",
			wantLog:   []string{"create n", "list", "create n-2"},
			wantLive:  []string{"id1:n-2"},
			wantSent:  []string{"n", "n-2"},
		},
		{
			name:     "client_error_returned_at_once",
			script:   []step{{err: err400}},
			wantErr:  err400,
			wantLog:  []string{"create n"},
			wantSent: []string{"n"},
		},
		{
			name:     "refused_connection_is_not_ambiguous",
			script:   []step{{err: errRefused}},
			wantErr:  errRefused,
			wantLog:  []string{"create n"},
			wantSent: []string{"n"},
		},
		{
			name:     "lookup_failure_renames_and_cleans_up_after_success",
			script:   []step{{create: true, err: errLost}},
			listErrs: []error{err500},
			wantName: "n-2",
			wantLog:  []string{"create n", "list", "create n-2", "list", "revoke id1"},
			wantLive: []string{"id2:n-2"},
			wantSent: []string{"n", "n-2"},
		},
		{
			name:     "cannot_list_retries_same_name",
			script:   []step{{err: errLost}},
			noList:   true,
			wantName: "n",
			wantLog:  []string{"create n", "create n"},
			wantLive: []string{"id1:n"},
			wantSent: []string{"n", "n"},
		},
		{
			name:     "attempts_exhausted_leave_no_orphan",
			script:   []step{{create: true, err: errLost}, {create: true, err: errLost}},
			attempts: 2,
			wantErr:  errLost,
			wantLog:  []string{"create n", "list", "revoke id1", "create n-2", "list", "revoke id2"},
			wantSent: []string{"n", "n-2"},
		},
		{
			name:     "last_attempt_lookup_failure_retried_at_the_end",
			script:   []step{{create: true, err: errLost}},
			listErrs: []error{err500},
			attempts: 1,
			wantErr:  errLost,
			wantLog:  []string{"create n", "list", "list", "revoke id1"},
			wantSent: []string{"n"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &scripted{script: tc.script, keepNames: tc.keepNames, noList: tc.noList, listErrs: tc.listErrs, tokens: tc.pre}
			var sent []string
			tok, err := provider.Mint(context.Background(), p, provider.MintRequest{Name: "n"}, provider.MintOptions{
				Attempts:     tc.attempts,
				BeforeCreate: func(name string) error { sent = append(sent, name); return nil },
				Sleep:        func(context.Context, time.Duration) error { return nil },
			})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Mint() error = %v, want %v", err, tc.wantErr)
				}
			} else {
				if err != nil {
					t.Fatalf("Mint() error = %v", err)
				}
				if diff := cmp.Diff(tc.wantName, tok.Name); diff != "" {
					t.Errorf("name (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tc.wantLog, p.log); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			var live []string
			for _, l := range p.live() {
				if !strings.HasPrefix(l, "old:") {
					live = append(live, l)
				}
			}
			if diff := cmp.Diff(tc.wantLive, live); diff != "" {
				t.Errorf("live tokens (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantSent, sent); diff != "" {
				t.Errorf("announced names (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMint_BeforeCreateErrorStops(t *testing.T) {
	t.Parallel()
	p := &scripted{}
	stop := errors.New("state not writable")
	_, err := provider.Mint(context.Background(), p, provider.MintRequest{Name: "n"}, provider.MintOptions{
		BeforeCreate: func(string) error { return stop },
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Mint() error = %v, want %v", err, stop)
	}
	if len(p.log) != 0 {
		t.Errorf("calls = %v, want none", p.log)
	}
}

func TestMint_SuffixedNameFitsLimit(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 20)
	p := &scripted{script: []step{{create: true, err: errLost}}, keepNames: true}
	tok, err := provider.Mint(context.Background(), p, provider.MintRequest{Name: long}, provider.MintOptions{
		MaxNameLen: 20,
		Sleep:      func(context.Context, time.Duration) error { return nil },
	})
	if err != nil {
		t.Fatalf("Mint() error = %v", err)
	}
	if len(tok.Name) > 20 || tok.Name == long {
		t.Errorf("name = %q, want a distinct name of at most 20 characters", tok.Name)
	}
}
