//go:build unix

package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/fake/child"
	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
)

// TestMain lets the test binary be exec's COMMAND (package child) and
// tokenmint itself (TOKENMINT_TEST_CLI_MAIN=1), for the tests that signal
// a real tokenmint process.
func TestMain(m *testing.M) {
	child.Main()
	if os.Getenv("TOKENMINT_TEST_CLI_MAIN") == "1" {
		os.Exit(Run(context.Background(), Env{Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
	}
	os.Exit(m.Run())
}

// syncBuf is a buffer written by exec's copy goroutines and read by the
// test; notify is closed when the text first contains want.
type syncBuf struct {
	mu     sync.Mutex
	b      bytes.Buffer
	want   string
	notify chan struct{}
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	if s.notify != nil && s.want != "" && strings.Contains(s.b.String(), s.want) {
		close(s.notify)
		s.notify = nil
	}
	return len(p), nil
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type execRun struct {
	env     map[string]string
	sigs    chan os.Signal
	stdout  *syncBuf
	stderr  *syncBuf
	code    int
	environ []string
}

// runExec runs `tokenmint exec` in process with COMMAND = this test binary
// in child mode.
func runExec(t *testing.T, r *execRun, args ...string) {
	t.Helper()
	if r.stdout == nil {
		r.stdout = &syncBuf{}
	}
	r.stderr = &syncBuf{}
	environ := append(os.Environ(), child.Env(), "TOKENMINT_ADMIN_KEY="+testKey)
	environ = append(environ, r.environ...)
	e := Env{
		Args: args, Stdin: strings.NewReader(""), Stdout: r.stdout, Stderr: r.stderr,
		Getenv:  func(k string) string { return r.env[k] },
		Environ: func() []string { return environ },
		Signals: r.sigs,
	}
	if e.Signals == nil {
		e.Signals = make(chan os.Signal)
	}
	r.code = Run(context.Background(), e)
}

func self() string { return os.Args[0] }

// noSecret fails when out holds any form of the secrets.
func noSecret(t *testing.T, what, out string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		forms := []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s)), url.QueryEscape(s), s[len(s)/2:], s[:len(s)/2+1]}
		for _, f := range forms {
			if strings.Contains(out, f) {
				t.Errorf("%s holds a form of a secret (%d bytes of it)", what, len(f))
			}
		}
	}
}

func TestExec_ConcealsEveryForm(t *testing.T) {
	t.Parallel()
	f, env := newFake(t)
	r := &execRun{env: env}
	runExec(t, r, "exec", "--scopes", "tokens:read", "--export-env", "API_TOKEN", "--", self(), "print", "API_TOKEN")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr.String())
	}
	recs := f.Store.All()
	if len(recs) != 1 {
		t.Fatalf("minted %d tokens, want 1", len(recs))
	}
	for what, out := range map[string]string{"stdout": r.stdout.String(), "stderr": r.stderr.String()} {
		noSecret(t, what, out, recs[0].Secret, testKey)
		// The lines are there, with the token concealed: COMMAND had it.
		for _, want := range []string{"raw ***\n", "base64 ***\n", "base64url ***\n", "url ***\n", "split *** end\n", "x***y", "embedded "} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q", what, want)
			}
		}
		if long := strings.Repeat("x", 100_000) + "***" + strings.Repeat("y", 100_000) + "\n"; !strings.Contains(out, long) {
			t.Errorf("%s: the long line is not the 200000 bytes around ***", what)
		}
	}
	if n := len(f.Store.Live()); n != 0 {
		t.Errorf("orphans: %d live tokens after exec", n)
	}
}

func TestExec_Environment(t *testing.T) {
	t.Parallel()
	f, env := newFake(t)
	r := &execRun{env: env, environ: []string{"KEEP_ME=1"}}
	runExec(t, r, "exec", "--scopes", "tokens:read", "--export-env", "API_TOKEN", "--no-conceal", "--", self(), "env", "API_TOKEN", "TOKENMINT_ADMIN_KEY", "KEEP_ME")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr.String())
	}
	want := fmt.Sprintf("API_TOKEN=%s\nTOKENMINT_ADMIN_KEY unset\nKEEP_ME=1\n", f.Store.All()[0].Secret)
	if diff := cmp.Diff(want, r.stdout.String()); diff != "" {
		t.Errorf("COMMAND's environment (-want +got):\n%s", diff)
	}
	if n := len(f.Store.Live()); n != 0 {
		t.Errorf("orphans: %d", n)
	}
}

func TestExec_TokenFile(t *testing.T) {
	t.Parallel()
	f, env := newFake(t)
	r := &execRun{env: env}
	runExec(t, r, "exec", "--scopes", "tokens:read", "--token-file", "TF", "--", self(), "cat-file", "TF")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr.String())
	}
	if diff := cmp.Diff("mode 600\n***\n", r.stdout.String()); diff != "" {
		t.Errorf("token file (-want +got):\n%s", diff)
	}
	r2 := &execRun{env: env}
	runExec(t, r2, "exec", "--scopes", "tokens:read", "--token-file", "TF", "--no-conceal", "--", self(), "env", "TF")
	path := strings.TrimSpace(strings.TrimPrefix(r2.stdout.String(), "TF="))
	if r2.code != 0 || !filepath.IsAbs(path) {
		t.Fatalf("exit %d, path %q: %s", r2.code, path, r2.stderr.String())
	}
	st, err := os.Stat(filepath.Dir(path))
	if err == nil {
		t.Errorf("the token directory is still there after exec (mode %v)", st.Mode())
	}
	if n := len(f.Store.Live()); n != 0 {
		t.Errorf("orphans: %d", n)
	}
}

func TestExec_ExitStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		command []string
		want    int
	}{
		{"zero", []string{self(), "exit", "0"}, 0},
		{"three", []string{self(), "exit", "3"}, 3},
		{"sigterm", []string{self(), "kill", "TERM"}, 143},
		{"sigkill", []string{self(), "kill", "KILL"}, 137},
		{"not_found", []string{"tokenmint-no-such-command"}, 127},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, env := newFake(t)
			r := &execRun{env: env}
			runExec(t, r, append([]string{"exec", "--scopes", "tokens:read", "--export-env", "T", "--"}, tc.command...)...)
			if r.code != tc.want {
				t.Fatalf("exit %d, want %d: %s", r.code, tc.want, r.stderr.String())
			}
			if len(f.Store.All()) != 1 || len(f.Store.Live()) != 0 {
				t.Errorf("minted %d, live %d: want 1 minted and revoked", len(f.Store.All()), len(f.Store.Live()))
			}
		})
	}
}

func TestExec_ForwardsSignalsAndRevokes(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(strings.ReplaceAll(sig.String(), " ", "_"), func(t *testing.T) {
			t.Parallel()
			f, env := newFake(t)
			file := filepath.Join(t.TempDir(), "got")
			ready := make(chan struct{})
			r := &execRun{env: env, sigs: make(chan os.Signal, 1), stdout: &syncBuf{want: "ready", notify: ready}}
			go func() {
				select {
				case <-ready:
					r.sigs <- sig
				case <-time.After(60 * time.Second):
				}
			}()
			runExec(t, r, "exec", "--scopes", "tokens:read", "--export-env", "T", "--", self(), "wait-signal", file)
			if r.code != 128+int(sig) {
				t.Errorf("exit %d, want %d: %s", r.code, 128+int(sig), r.stderr.String())
			}
			got, _ := os.ReadFile(file)
			if string(got) != sig.String() {
				t.Errorf("COMMAND received %q, want %q", got, sig)
			}
			if len(f.Store.All()) != 1 || len(f.Store.Live()) != 0 {
				t.Errorf("minted %d, live %d: want 1 minted and revoked", len(f.Store.All()), len(f.Store.Live()))
			}
		})
	}
}

// TestExec_SIGTERMToTokenmint signals a real tokenmint process (this test
// binary as the CLI) while COMMAND runs: COMMAND gets SIGTERM, the token
// is revoked, tokenmint exits 143.
func TestExec_SIGTERMToTokenmint(t *testing.T) {
	t.Parallel()
	f, env := newFake(t)
	file := filepath.Join(t.TempDir(), "got")
	cmd := exec.Command(self(), "exec", "--scopes", "tokens:read", "--export-env", "T", "--", "/usr/bin/env", child.Env(), self(), "wait-signal", file)
	cmd.Env = append(os.Environ(), "TOKENMINT_TEST_CLI_MAIN=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	ready := make(chan struct{})
	out := &syncBuf{want: "ready", notify: ready}
	var errb syncBuf
	cmd.Stdout, cmd.Stderr = out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("COMMAND never got ready: %s", errb.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code != 143 {
		t.Errorf("tokenmint exit %d (%v), want 143: %s", code, err, errb.String())
	}
	got, _ := os.ReadFile(file)
	if string(got) != "terminated" {
		t.Errorf("COMMAND received %q, want SIGTERM", got)
	}
	if len(f.Store.All()) != 1 || len(f.Store.Live()) != 0 {
		t.Errorf("minted %d, live %d: want 1 minted and revoked", len(f.Store.All()), len(f.Store.Live()))
	}
	noSecret(t, "stderr", errb.String(), testKey)
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens.yml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExec_ConfigSeveralTokens(t *testing.T) {
	t.Parallel()
	f1, env1 := newFake(t)
	f2 := faketooken.New("tok_live_secondadminkey000000000000", nil)
	srv2 := httptest.NewServer(f2)
	t.Cleanup(srv2.Close)
	env := map[string]string{"ADMIN_ONE": testKey, "ADMIN_TWO": "tok_live_secondadminkey000000000000"}
	cfg := writeConfig(t, fmt.Sprintf(`tokens:
  - provider: tooken
    api-url: %s
    admin-key-env: ADMIN_ONE
    scopes: [tokens:read]
    ttl: 15m
    export-env: ONE
  - provider: tooken
    api-url: %s/v1
    admin-key-env: ADMIN_TWO
    scopes: tokens:read, audit:read
    token-file: TWO_FILE
`, env1["TOKENMINT_API_URL"], srv2.URL))
	r := &execRun{env: env, environ: []string{"ADMIN_ONE=" + testKey, "ADMIN_TWO=x"}}
	runExec(t, r, "exec", "--config", cfg, "--no-conceal", "--", self(), "env", "ONE", "TWO_FILE", "ADMIN_ONE", "ADMIN_TWO")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(r.stdout.String()), "\n")
	if len(lines) != 4 || lines[0] != "ONE="+f1.Store.All()[0].Secret || !strings.HasPrefix(lines[1], "TWO_FILE=/") ||
		lines[2] != "ADMIN_ONE unset" || lines[3] != "ADMIN_TWO unset" {
		t.Errorf("COMMAND's environment: %q", lines)
	}
	if diff := cmp.Diff([]string{"audit:read", "tokens:read"}, sortedCopy(f2.Store.All()[0].Scopes)); diff != "" {
		t.Errorf("second token's scopes (-want +got):\n%s", diff)
	}
	for i, f := range []*faketooken.Server{f1, f2} {
		if len(f.Store.All()) != 1 || len(f.Store.Live()) != 0 {
			t.Errorf("service %d: minted %d, live %d", i+1, len(f.Store.All()), len(f.Store.Live()))
		}
	}
}

func TestExec_ConfigFailingSecondMint(t *testing.T) {
	t.Parallel()
	f1, env1 := newFake(t)
	f2 := faketooken.New("tok_live_secondadminkey000000000000", nil)
	srv2 := httptest.NewServer(f2)
	t.Cleanup(srv2.Close)
	f2.Push("POST /v1/tokens", fake.Fault{Status: http.StatusForbidden, Body: `{"error":{"code":"forbidden","message":"no"}}`})
	env := map[string]string{"ADMIN_ONE": testKey, "ADMIN_TWO": "tok_live_secondadminkey000000000000"}
	cfg := writeConfig(t, fmt.Sprintf(`tokens:
  - {provider: tooken, api-url: %q, admin-key-env: ADMIN_ONE, scopes: tokens:read, export-env: ONE}
  - {provider: tooken, api-url: %q, admin-key-env: ADMIN_TWO, scopes: tokens:read, export-env: TWO}
`, env1["TOKENMINT_API_URL"], srv2.URL+"/v1"))
	marker := filepath.Join(t.TempDir(), "ran")
	r := &execRun{env: env}
	runExec(t, r, "exec", "--config", cfg, "--", self(), "wait-signal", marker)
	if r.code != ExitFail {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr.String())
	}
	if r.stdout.String() != "" {
		t.Errorf("COMMAND ran: %q", r.stdout.String())
	}
	if !strings.Contains(r.stderr.String(), "token 2 (tooken)") || !strings.Contains(r.stderr.String(), "nothing was run") {
		t.Errorf("stderr does not say which mint failed: %s", r.stderr.String())
	}
	if len(f1.Store.All()) != 1 || len(f1.Store.Live()) != 0 {
		t.Errorf("first token: minted %d, live %d: want it revoked", len(f1.Store.All()), len(f1.Store.Live()))
	}
	if len(f2.Store.All()) != 0 {
		t.Errorf("second service holds %d tokens", len(f2.Store.All()))
	}
}

func TestExec_ConfigErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file, want string
		args             []string
	}{
		{"inline_admin_key", "tokens:\n  - {provider: tooken, admin-key: tok_live_inline0123456789, admin-key-env: A, scopes: tokens:read, export-env: X}\n", "admin-key is never taken from the file", nil},
		{"no_admin_key_env", "tokens:\n  - {provider: tooken, scopes: tokens:read, export-env: X}\n", "admin-key-env is required", nil},
		{"unset_admin_key_env", "tokens:\n  - {provider: tooken, admin-key-env: NOPE, scopes: tokens:read, export-env: X}\n", "NOPE (admin-key-env) is empty or unset", nil},
		{"unknown_key", "tokens:\n  - {provider: tooken, admin-key-env: A, scopes: tokens:read, export-env: X, scoops: 1}\n", `unknown key "scoops"`, nil},
		{"bad_scope_named", "tokens:\n  - {provider: tooken, admin-key-env: A, scopes: tokens:reed, export-env: X}\n", `--config token 1: scopes: "tokens:reed" is not a tooken scope`, nil},
		{"same_variable_twice", "tokens:\n  - {provider: tooken, admin-key-env: A, scopes: tokens:read, export-env: X}\n  - {provider: tooken, admin-key-env: A, scopes: tokens:read, export-env: X}\n", "variable X is already used", nil},
		{"no_tokens", "tokens: []\n", "lists no tokens", nil},
		{"top_level_typo", "token:\n  - {}\n", `unknown key "token"`, nil},
		{"flags_with_config", "tokens:\n  - {provider: tooken, admin-key-env: A, scopes: tokens:read, export-env: X}\n", "remove --scopes", []string{"--scopes", "tokens:read"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, env := newFake(t)
			env["A"] = testKey
			cfg := writeConfig(t, tc.file)
			r := &execRun{env: env}
			args := append(append([]string{"exec", "--config", cfg}, tc.args...), "--", self(), "exit", "0")
			runExec(t, r, args...)
			if r.code != ExitUsage || !strings.Contains(r.stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q: want 2 and %q", r.code, r.stderr.String(), tc.want)
			}
			noSecret(t, "stderr", r.stderr.String(), "tok_live_inline0123456789", testKey)
			if f.Total() != 0 {
				t.Errorf("%d requests were sent for a bad config", f.Total())
			}
		})
	}
}

func TestExec_RevokeFailure(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"warn", "fail"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			f, env := newFake(t)
			f.Push("DELETE /v1/tokens/{id}", fake.Fault{Status: http.StatusForbidden, Body: `{"error":{"code":"forbidden","message":"no"}}`})
			r := &execRun{env: env}
			runExec(t, r, "exec", "--scopes", "tokens:read", "--export-env", "T", "--revoke-failure", mode, "--", self(), "exit", "0")
			want := map[string]int{"warn": 0, "fail": 1}[mode]
			if r.code != want {
				t.Errorf("exit %d, want %d: %s", r.code, want, r.stderr.String())
			}
			live := f.Store.Live()
			if len(live) != 1 {
				t.Fatalf("live = %d, want the one whose revocation failed", len(live))
			}
			if !strings.Contains(r.stderr.String(), "failed to revoke the tooken token "+live[0].ID) {
				t.Errorf("the warning does not name the token: %s", r.stderr.String())
			}
			noSecret(t, "stderr", r.stderr.String(), live[0].Secret, testKey)
		})
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// A create whose answer is lost: the ledger finds the token by its exact
// name and revokes it; exec then runs with the retry's token and revokes
// that too. Orphans 0.
func TestExec_LostCreateIsSwept(t *testing.T) {
	t.Parallel()
	f, env := newFake(t)
	f.Push("POST /v1/tokens", fake.Fault{After: true, Drop: true})
	r := &execRun{env: env}
	runExec(t, r, "exec", "--scopes", "tokens:read", "--export-env", "T", "--", self(), "exit", "0")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr.String())
	}
	if len(f.Store.All()) != 2 || len(f.Store.Live()) != 0 {
		t.Errorf("minted %d, live %d: want 2 minted (one lost), none live", len(f.Store.All()), len(f.Store.Live()))
	}
}

// When the lost create cannot be looked up, exec warns naming the exact
// name it could not confirm, and revokes only its own token.
func TestExec_UnconfirmedCleanupIsNamed(t *testing.T) {
	t.Parallel()
	f, env := newFake(t)
	// Someone else's token with a similar name is never touched.
	other := f.Store.Add(fake.Record{ID: "tok_other", Name: "tokenmint-cli-other", Secret: "tok_live_someoneelse0000000000"})
	f.Push("POST /v1/tokens", fake.Fault{After: true, Drop: true})
	deny := fake.Fault{Status: http.StatusForbidden, Body: `{"error":{"code":"forbidden","message":"missing scope tokens:read"}}`}
	f.Push("GET /v1/tokens", deny, deny, deny, deny)
	r := &execRun{env: env}
	runExec(t, r, "exec", "--scopes", "tokens:read", "--export-env", "T", "--", self(), "exit", "0")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr.String())
	}
	var lost []fake.Record
	for _, rec := range f.Store.Live() {
		if rec.ID != other.ID {
			lost = append(lost, rec)
		}
	}
	if len(lost) != 1 {
		t.Fatalf("want the lost create live (unconfirmed), got %d live of ours", len(lost))
	}
	if !strings.Contains(r.stderr.String(), lost[0].Name) {
		t.Errorf("stderr does not name %q: %s", lost[0].Name, r.stderr.String())
	}
	if rec, _ := f.Store.Get(other.ID); rec.Revoked {
		t.Error("exec revoked a token it did not mint")
	}
}

// TestExec_Model runs exec with 1–3 tokens on their own fake services,
// random faults on create, list and revoke, random COMMAND endings and
// --revoke-failure, and checks the invariants of exec.go on each round:
// a token of someone else is never revoked; COMMAND runs only when every
// mint succeeded, and then exec exits with its status (1 only for a failed
// revocation under --revoke-failure fail); otherwise exit 1 and "nothing
// was run"; every token this call created is revoked or named on stderr;
// no secret reaches stdout or stderr.
func TestExec_Model(t *testing.T) {
	t.Parallel()
	seed := time.Now().UnixNano()
	if v := os.Getenv("EXEC_MODEL_SEED"); v != "" {
		if _, err := fmt.Sscan(v, &seed); err != nil {
			t.Fatalf("EXEC_MODEL_SEED: %v", err)
		}
	}
	t.Logf("seed %d (EXEC_MODEL_SEED=%d to replay)", seed, seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 14))
	drop := fake.Fault{After: true, Drop: true}
	status := func(code int) fake.Fault {
		return fake.Fault{Status: code, Body: `{"error":{"code":"x","message":"fault"}}`}
	}
	postFaults := [][]fake.Fault{nil, nil, {drop}, {status(500)}, {status(429)}, {status(403)}, {drop, drop}}
	listFaults := [][]fake.Fault{nil, nil, {status(500)}, {status(403), status(403), status(403), status(403)}}
	deleteFaults := [][]fake.Fault{nil, nil, {status(503)}, {status(403)}, {drop}}
	endings := []string{"0", "3", "TERM"}
	for round := 0; round < 30; round++ {
		n := 1 + rng.IntN(3)
		type svc struct {
			f       *faketooken.Server
			key     string
			foreign string
		}
		var svcs []svc
		var cfg strings.Builder
		cfg.WriteString("tokens:\n")
		env := map[string]string{}
		for i := 0; i < n; i++ {
			key := fmt.Sprintf("tok_live_modelkey%02d%02d0000000000000000", round, i)
			f := faketooken.New(key, nil)
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			foreign := f.Store.Add(fake.Record{ID: fmt.Sprintf("tok_foreign%d", i), Name: "tokenmint-cli-foreign", Secret: "tok_live_foreignsecret000000000000"})
			f.Push("POST /v1/tokens", postFaults[rng.IntN(len(postFaults))]...)
			f.Push("GET /v1/tokens", listFaults[rng.IntN(len(listFaults))]...)
			f.Push("DELETE /v1/tokens/{id}", deleteFaults[rng.IntN(len(deleteFaults))]...)
			env[fmt.Sprintf("KEY%d", i)] = key
			fmt.Fprintf(&cfg, "  - {provider: tooken, api-url: %q, admin-key-env: KEY%d, scopes: tokens:read, export-env: T%d}\n", srv.URL+"/v1", i, i)
			svcs = append(svcs, svc{f, key, foreign.ID})
		}
		ending := endings[rng.IntN(len(endings))]
		mode := []string{"warn", "fail"}[rng.IntN(2)]
		var out, errb syncBuf
		code := Run(context.Background(), Env{
			Args:  []string{"exec", "--config", writeConfig(t, cfg.String()), "--revoke-failure", mode, "--", self(), "ran", ending},
			Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Getenv:  func(k string) string { return env[k] },
			Environ: func() []string { return append(os.Environ(), child.Env()) },
			Signals: make(chan os.Signal),
			Sleep:   func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		})
		stdout, stderr := out.String(), errb.String()
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d round %d (%d tokens, COMMAND %s, %s): %s\nexit %d\nstdout %q\nstderr:\n%s", seed, round, n, ending, mode, fmt.Sprintf(format, args...), code, stdout, stderr)
		}
		ran := strings.Contains(stdout, "ran")
		if os.Getenv("EXEC_MODEL_DEBUG") != "" {
			t.Logf("round %d: ran %v exit %d warned %v", round, ran, code, strings.Contains(stderr, "warning"))
		}
		want := map[string]int{"0": 0, "3": 3, "TERM": 143}[ending]
		switch {
		case ran && code != want && !(mode == "fail" && want == 0 && code == ExitFail && strings.Contains(stderr, "failed to revoke")):
			fail("COMMAND ran: exit %d, want %d", code, want)
		case !ran && (code != ExitFail || !strings.Contains(stderr, "nothing was run")):
			fail("COMMAND did not run: want exit 1 and 'nothing was run'")
		}
		for i, s := range svcs {
			for _, rec := range s.f.Store.All() {
				if rec.ID == s.foreign {
					if rec.Revoked {
						fail("service %d: exec revoked a token it did not mint", i)
					}
					continue
				}
				if !rec.Revoked && !strings.Contains(stderr, rec.ID) && !strings.Contains(stderr, rec.Name) {
					fail("service %d: token %s (%s) left live without a warning naming it", i, rec.ID, rec.Name)
				}
				if strings.Contains(stdout+stderr, rec.Secret) {
					fail("a minted token reached the output")
				}
			}
			if strings.Contains(stdout+stderr, s.key) {
				fail("an admin key reached the output")
			}
		}
		if ran {
			for i, s := range svcs {
				if len(s.f.Store.All()) < 2 {
					fail("COMMAND ran but service %d minted nothing", i)
				}
			}
		}
	}
}
