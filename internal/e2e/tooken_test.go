package e2e

import (
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
)

const adminKey = "tok_live_e2eadminkey5f3a9c1b7d2e4f60"

type tookenEnv struct {
	fake *faketooken.Server
	url  string
}

func newTooken(t *testing.T) *tookenEnv {
	t.Helper()
	f := faketooken.New(adminKey, nil)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &tookenEnv{fake: f, url: srv.URL + "/v1"}
}

func (e *tookenEnv) inputs(extra map[string]string) map[string]string {
	in := map[string]string{
		"provider":  "tooken",
		"admin-key": adminKey,
		"api-url":   e.url,
		"scopes":    "tokens:read, tokens:revoke",
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// allowedCommands are the workflow commands tokenmint itself prints.
var allowedCommands = []string{"add-mask", "error", "warning", "notice", "debug", "group", "endgroup"}

// checkHygiene asserts what every run must: no secret printed or stored
// outside the outputs/env files, every secret masked before use, only our
// own workflow commands, and only declared outputs.
func checkHygiene(t *testing.T, j *Job, e *tookenEnv) {
	t.Helper()
	secrets := append([]string{adminKey}, e.fake.Store.Secrets()...)
	if leaks := j.Leaks(secrets); len(leaks) > 0 {
		t.Errorf("secrets leaked: %v", leaks)
	}
	for _, c := range j.Commands() {
		if !slices.Contains(allowedCommands, c) {
			t.Errorf("unexpected workflow command %q in output", c)
		}
	}
	for k := range j.Outputs {
		if !slices.Contains([]string{"token", "token-id", "token-name", "expires-at", "scopes"}, k) {
			t.Errorf("undeclared output %q was set", k)
		}
	}
	// Every token the job handed out was masked.
	if tok := j.Outputs["token"]; tok != "" {
		if missing := j.Unmasked([]string{tok}); len(missing) > 0 {
			t.Errorf("token was never masked")
		}
	}
}

// nameIn returns the first ledger name (prefix-<nonce>) in text.
func nameIn(text string) string {
	return ledgerName.FindString(text)
}

var ledgerName = regexp.MustCompile(`tokenmint-[A-Za-z0-9._-]*-[a-z2-7]{13}(-[0-9]+)?`)

func TestAction_Tooken(t *testing.T) {
	t.Parallel()
	type check func(t *testing.T, e *tookenEnv, j *Job, main, post Phase)
	cases := []struct {
		name   string
		inputs map[string]string
		setup  func(e *tookenEnv)
		// between runs after main and before post.
		between   func(t *testing.T, e *tookenEnv, j *Job)
		kill      bool // kill main once the fake has created the token
		wantMain  int
		wantPost  int
		wantLive  int // live tokens at the end (revocation not wanted)
		wantCalls map[string]int
		check     check
	}{
		{
			name:      "happy_path",
			wantCalls: map[string]int{"POST /v1/tokens": 1, "DELETE /v1/tokens/{id}": 1},
			check: func(t *testing.T, e *tookenEnv, j *Job, main, post Phase) {
				recs := e.fake.Store.All()
				if len(recs) != 1 {
					t.Fatalf("want 1 token, got %d", len(recs))
				}
				r := recs[0]
				want := map[string]string{
					"token": r.Secret, "token-id": r.ID, "token-name": r.Name,
					"expires-at": r.ExpiresAt.UTC().Format(time.RFC3339), "scopes": "tokens:read,tokens:revoke",
				}
				if diff := cmp.Diff(want, j.Outputs); diff != "" {
					t.Errorf("outputs (-want +got):\n%s", diff)
				}
				// The default name: tokenmint-<owner>-<repo>-<job>-<run>-<attempt>-<nonce>.
				if got := NamePrefix(r.Name); got != "tokenmint-octo-org-octo-repo-build-4242-1" {
					t.Errorf("token name %q: prefix %q, want the job's default followed by a nonce", r.Name, got)
				}
				if d := time.Until(r.ExpiresAt); d < 55*time.Minute || d > 61*time.Minute {
					t.Errorf("expiry %s is not about 1h away", r.ExpiresAt)
				}
				if !strings.Contains(j.Summary, r.ID) || !strings.Contains(j.Summary, "revoked in the post step") {
					t.Errorf("summary lacks the token ID or the plan:\n%s", j.Summary)
				}
				if len(j.EnvOut) != 0 {
					t.Errorf("env exported without export-env: %v", j.EnvOut)
				}
			},
		},
		{
			name:      "export_env",
			inputs:    map[string]string{"export-env": "API_TOKEN"},
			wantCalls: map[string]int{"POST /v1/tokens": 1, "DELETE /v1/tokens/{id}": 1},
			check: func(t *testing.T, e *tookenEnv, j *Job, main, post Phase) {
				want := map[string]string{"API_TOKEN": e.fake.Store.All()[0].Secret}
				if diff := cmp.Diff(want, j.EnvOut); diff != "" {
					t.Errorf("env (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:      "revoke_never",
			inputs:    map[string]string{"revoke": "never"},
			wantLive:  1,
			wantCalls: map[string]int{"POST /v1/tokens": 1},
			check: func(t *testing.T, e *tookenEnv, j *Job, main, post Phase) {
				if !strings.Contains(post.Stdout, "::notice::") {
					t.Errorf("post printed no notice:\n%s", post.Stdout)
				}
			},
		},
		{
			name:  "main_killed_after_create_answered",
			setup: func(e *tookenEnv) { e.fake.Push("POST /v1/tokens", fake.Fault{After: true, Delay: time.Minute}) },
			kill:  true,
			// main dies, post lists by name and revokes.
			wantMain:  -1,
			wantCalls: map[string]int{"POST /v1/tokens": 1, "GET /v1/tokens": 1, "DELETE /v1/tokens/{id}": 1},
			check: func(t *testing.T, e *tookenEnv, j *Job, main, post Phase) {
				if j.State["token-id"] != "" {
					t.Errorf("state has an ID although main died before saving it")
				}
			},
		},
		{
			name: "create_500_twice_then_ok",
			setup: func(e *tookenEnv) {
				e.fake.Push("POST /v1/tokens", fake.Fault{Status: 500, Body: `{"error":"internal_error","message":"boom","status":500}`}, fake.Fault{Status: 500})
			},
			// Each lost name is looked up by main and again by post (a create
			// held past the timeout may commit late).
			wantCalls: map[string]int{"POST /v1/tokens": 3, "GET /v1/tokens": 4, "DELETE /v1/tokens/{id}": 1},
		},
		{
			name:  "connection_dropped_after_create",
			setup: func(e *tookenEnv) { e.fake.Push("POST /v1/tokens", fake.Fault{After: true, Drop: true}) },
			check: func(t *testing.T, e *tookenEnv, j *Job, main, post Phase) {
				if n := len(e.fake.Store.All()); n != 2 {
					t.Errorf("want the lost token and the kept one, got %d tokens", n)
				}
			},
		},
		{
			name: "rate_limited_429_with_retry_after",
			setup: func(e *tookenEnv) {
				e.fake.Push("POST /v1/tokens", fake.Fault{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: `{"error":"rate_limited","message":"slow down","status":429}`})
			},
			wantCalls: map[string]int{"POST /v1/tokens": 2, "DELETE /v1/tokens/{id}": 1},
		},
		{
			name: "revoke_404_is_success",
			between: func(t *testing.T, e *tookenEnv, j *Job) {
				e.fake.Store.Delete(j.Outputs["token-id"])
			},
			wantCalls: map[string]int{"POST /v1/tokens": 1, "DELETE /v1/tokens/{id}": 1},
			check: func(t *testing.T, e *tookenEnv, j *Job, main, post Phase) {
				if strings.Contains(post.Stdout, "::warning") {
					t.Errorf("404 on revoke warned:\n%s", post.Stdout)
				}
			},
		},
		{
			name: "expired_token_is_not_revoked",
			between: func(t *testing.T, e *tookenEnv, j *Job) {
				id := j.Outputs["token-id"]
				past := time.Now().Add(-time.Minute)
				e.fake.Store.Update(id, func(r *fake.Record) { r.ExpiresAt = past })
				j.State["expires-at"] = past.UTC().Format(time.RFC3339)
			},
			wantCalls: map[string]int{"POST /v1/tokens": 1},
			check: func(t *testing.T, e *tookenEnv, j *Job, main, post Phase) {
				if !strings.Contains(post.Stdout, "expired") {
					t.Errorf("post did not say the token expired:\n%s", post.Stdout)
				}
			},
		},
		{
			name: "revoke_failure_warns",
			setup: func(e *tookenEnv) {
				e.fake.Push("DELETE /v1/tokens/{id}", fake.Fault{Status: 403, Body: `{"error":"forbidden","message":"API key lacks the tokens:revoke scope","status":403}`})
			},
			wantLive:  1,
			wantCalls: map[string]int{"POST /v1/tokens": 1, "DELETE /v1/tokens/{id}": 1},
			check: func(t *testing.T, e *tookenEnv, j *Job, main, post Phase) {
				id := j.Outputs["token-id"]
				if !strings.Contains(post.Stdout, "::warning::") || !strings.Contains(post.Stdout, id) {
					t.Errorf("post did not warn naming %s:\n%s", id, post.Stdout)
				}
			},
		},
		{
			name:   "revoke_failure_fails",
			inputs: map[string]string{"revoke-failure": "fail"},
			setup: func(e *tookenEnv) {
				e.fake.Push("DELETE /v1/tokens/{id}", fake.Fault{Status: 403, Body: `{"error":"forbidden","message":"no","status":403}`})
			},
			wantPost:  1,
			wantLive:  1,
			wantCalls: map[string]int{"POST /v1/tokens": 1, "DELETE /v1/tokens/{id}": 1},
			check: func(t *testing.T, e *tookenEnv, j *Job, main, post Phase) {
				if !strings.Contains(post.Stdout, "::error::") || !strings.Contains(post.Stdout, j.Outputs["token-id"]) {
					t.Errorf("post did not fail naming the token:\n%s", post.Stdout)
				}
			},
		},
		{
			name: "hostile_id_and_name_inject_nothing",
			setup: func(e *tookenEnv) {
				payload := "\n_GitHubActionsFileCommandDelimeter_\nBASH_ENV=/tmp/x\n"
				e.fake.IDFunc = func() string { return "tok_1" + payload + "::stop-commands::x" }
				e.fake.NameFunc = func(n string) string { return n + payload + "##[set-output name=token]stolen" }
			},
			wantCalls: map[string]int{"POST /v1/tokens": 1, "DELETE /v1/tokens/{id}": 1},
			check: func(t *testing.T, e *tookenEnv, j *Job, main, post Phase) {
				r := e.fake.Store.All()[0]
				if j.Outputs["token-id"] != r.ID || j.Outputs["token-name"] != r.Name {
					t.Errorf("hostile ID/name were not carried verbatim in outputs: %q %q", j.Outputs["token-id"], j.Outputs["token-name"])
				}
				if _, ok := j.EnvOut["BASH_ENV"]; ok {
					t.Errorf("BASH_ENV was injected into GITHUB_ENV")
				}
			},
		},
		{
			name: "hostile_error_body_injects_nothing",
			setup: func(e *tookenEnv) {
				e.fake.Push("POST /v1/tokens", fake.Fault{Status: 400, Body: `{"error":"bad_request","message":"::stop-commands::x\n::add-mask::foo\n##[set-output name=token]y\n_GitHubActionsFileCommandDelimeter_\nBASH_ENV=/tmp/x","status":400}`})
			},
			wantMain: 1,
			// One attempt answered 400: nothing was created, so post has
			// nothing to look up.
			wantCalls: map[string]int{"POST /v1/tokens": 1},
			check: func(t *testing.T, e *tookenEnv, j *Job, main, post Phase) {
				if !strings.Contains(main.Stdout, "::error::") {
					t.Errorf("main did not report the error:\n%s", main.Stdout)
				}
				if len(j.Outputs) != 0 || len(j.EnvOut) != 0 {
					t.Errorf("outputs or env set on failure: %v %v", j.Outputs, j.EnvOut)
				}
				if strings.TrimSpace(post.Stdout) != "" {
					t.Errorf("post after a definite create failure is not quiet:\n%s", post.Stdout)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTooken(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			j := NewJob(t, e.inputs(tc.inputs))
			var main Phase
			if tc.kill {
				main = j.MainUntil(t, func() bool { return len(e.fake.Store.All()) > 0 })
			} else {
				main = j.Main(t)
			}
			switch {
			case tc.wantMain == -1:
				if main.ExitCode == 0 {
					t.Fatalf("main was not killed")
				}
			case main.ExitCode != tc.wantMain:
				t.Fatalf("main exit %d, want %d\nstdout:\n%s\nstderr:\n%s", main.ExitCode, tc.wantMain, main.Stdout, main.Stderr)
			}
			if tc.between != nil {
				tc.between(t, e, j)
			}
			post := j.Post(t)
			if post.ExitCode != tc.wantPost {
				t.Fatalf("post exit %d, want %d\nstdout:\n%s\nstderr:\n%s", post.ExitCode, tc.wantPost, post.Stdout, post.Stderr)
			}
			if got := len(e.fake.Store.Live()); got != tc.wantLive {
				t.Errorf("live tokens after post: %d, want %d (orphans)", got, tc.wantLive)
			}
			if tc.wantCalls != nil {
				got := map[string]int{}
				for _, r := range e.fake.Requests() {
					got[r]++
				}
				if diff := cmp.Diff(tc.wantCalls, got); diff != "" {
					t.Errorf("requests (-want +got):\n%s", diff)
				}
			}
			checkHygiene(t, j, e)
			if tc.check != nil {
				tc.check(t, e, j, main, post)
			}
		})
	}
}
