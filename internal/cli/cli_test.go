package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake/ghsecrets"
	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
	"github.com/tokenmint/tokenmint/internal/ledger"
)

const (
	testKey     = "tok_live_cliadminkey0123456789abcdef"
	testGHToken = "github_pat_cliWriter0123456789abcdef"
)

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), Env{
		Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
	})
	return result{code, out.String(), errb.String()}
}

func newFake(t *testing.T) (*faketooken.Server, map[string]string) {
	t.Helper()
	f := faketooken.New(testKey, nil)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, map[string]string{
		"TOKENMINT_ADMIN_KEY": testKey, "TOKENMINT_PROVIDER": "tooken", "TOKENMINT_API_URL": srv.URL + "/v1",
	}
}

func TestRun_Mint(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		args   []string
		decode func(t *testing.T, out string) (token, id string)
	}{
		{"token_alone", []string{"mint", "--scopes", "tokens:read"}, func(t *testing.T, out string) (string, string) {
			return strings.TrimSpace(out), ""
		}},
		{"json", []string{"mint", "--scopes", "tokens:read", "--output", "json"}, func(t *testing.T, out string) (string, string) {
			var v tokenView
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatal(err)
			}
			return v.Token, v.ID
		}},
		{"env", []string{"mint", "--scopes=tokens:read", "--output=env", "--ttl", "2d"}, func(t *testing.T, out string) (string, string) {
			vals := map[string]string{}
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				k, v, _ := strings.Cut(l, "=")
				vals[k] = strings.Trim(v, "'")
			}
			return vals["TOKENMINT_TOKEN"], vals["TOKENMINT_TOKEN_ID"]
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, env := newFake(t)
			r := run(t, env, "", tc.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			recs := f.Store.All()
			if len(recs) != 1 {
				t.Fatalf("want 1 token, got %d", len(recs))
			}
			tok, id := tc.decode(t, r.stdout)
			if tok != recs[0].Secret {
				t.Errorf("printed token is not the minted one")
			}
			if id != "" && id != recs[0].ID {
				t.Errorf("id = %q, want %q", id, recs[0].ID)
			}
			if strings.Contains(r.stderr, recs[0].Secret) || strings.Contains(r.stderr, testKey) {
				t.Errorf("stderr holds a secret: %q", r.stderr)
			}
		})
	}
}

func TestRun_ListAndRevoke(t *testing.T) {
	t.Parallel()
	f, env := newFake(t)
	for i := 0; i < 3; i++ {
		if r := run(t, env, "", "mint", "--scopes", "tokens:read", "--name", "job-"+string(rune('a'+i))); r.code != 0 {
			t.Fatalf("mint: %s", r.stderr)
		}
	}
	r := run(t, env, "", "list", "--output", "json")
	var views []tokenView
	if err := json.Unmarshal([]byte(r.stdout), &views); err != nil {
		t.Fatalf("list json: %v\n%s", err, r.stdout)
	}
	var names []string
	for _, v := range views {
		// Each call appends its own nonce: -<13 base32 characters>.
		prefix, nonce, _ := strings.Cut(v.Name, "-"+v.Name[len(v.Name)-ledger.NonceLen:])
		if !ledger.ValidNonce(v.Name[len(v.Name)-ledger.NonceLen:]) || nonce != "" {
			t.Errorf("name %q does not end in a nonce", v.Name)
		}
		names = append(names, prefix)
		if v.Token != "" {
			t.Errorf("list printed a secret")
		}
	}
	if diff := cmp.Diff([]string{"job-a", "job-b", "job-c"}, names); diff != "" {
		t.Errorf("name prefixes (-want +got):\n%s", diff)
	}
	if r := run(t, env, "", "revoke", views[0].ID); r.code != 0 || r.stdout != "revoked "+views[0].ID+"\n" {
		t.Fatalf("revoke exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
	// Tooken can tell: a typo is not a success, a second revoke says so.
	if r := run(t, env, "", "revoke", "tok_doesnotexist"); r.code != ExitFail || !strings.Contains(r.stderr, "never had this ID") || r.stdout != "" {
		t.Errorf("revoke of an unknown ID: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, env, "", "revoke", views[0].ID); r.code != 0 || r.stdout != "already revoked "+views[0].ID+"\n" {
		t.Errorf("second revoke: exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
	table := run(t, env, "", "list")
	if strings.Contains(table.stdout, "job-a") || !strings.Contains(table.stdout, "job-b") {
		t.Errorf("table after revoke:\n%s", table.stdout)
	}
	all := run(t, env, "", "list", "--all")
	if !strings.Contains(all.stdout, "revoked") {
		t.Errorf("list --all does not show the revoked token:\n%s", all.stdout)
	}
	if n := len(f.Store.Live()); n != 2 {
		t.Errorf("live = %d, want 2", n)
	}
}

func TestRun_Errors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no_command", nil, nil, ExitUsage, "a command is required"},
		{"unknown_command", nil, []string{"frobnicate"}, ExitUsage, "unknown command"},
		{"admin_key_flag_refused", nil, []string{"mint", "--admin-key", testKey}, ExitUsage, "never taken from a flag value"},
		{"admin_key_flag_eq_refused", nil, []string{"mint", "--admin-key=" + testKey}, ExitUsage, "never taken from a flag value"},
		{"bad_input_is_usage", map[string]string{"TOKENMINT_ADMIN_KEY": testKey}, []string{"mint", "--provider", "tooken", "--ttl", "0"}, ExitUsage, `--ttl: must be more than 0`},
		{"admin_key_named_for_the_cli", nil, []string{"mint", "--provider", "tooken", "--scopes", "tokens:read"}, ExitUsage, `TOKENMINT_ADMIN_KEY (or --admin-key-file): is required`},
		{"dry_run_bare", map[string]string{"TOKENMINT_ADMIN_KEY": testKey}, []string{"rotate", "--provider", "tooken", "--dry-run"}, ExitUsage, "--secret-name"},
		{"exec_needs_command", map[string]string{"TOKENMINT_ADMIN_KEY": testKey}, []string{"exec", "--provider", "tooken", "--scopes", "tokens:read", "--export-env", "T"}, ExitUsage, "exec needs a COMMAND"},
		{"exec_needs_a_target", map[string]string{"TOKENMINT_ADMIN_KEY": testKey}, []string{"exec", "--provider", "tooken", "--scopes", "tokens:read", "--", "true"}, ExitUsage, "set --export-env and/or --token-file"},
		{"exec_refuses_runner_names", map[string]string{"TOKENMINT_ADMIN_KEY": testKey}, []string{"exec", "--provider", "tooken", "--scopes", "tokens:read", "--export-env", "PATH", "--", "true"}, ExitUsage, "--export-env: must not name"},
		{"help_unknown_command", nil, []string{"help", "frobnicate"}, ExitUsage, "unknown command"},
		{"bad_output", map[string]string{"TOKENMINT_ADMIN_KEY": testKey}, []string{"mint", "--output", "xml"}, ExitUsage, "--output"},
		{"revoke_needs_ids", map[string]string{"TOKENMINT_ADMIN_KEY": testKey}, []string{"revoke", "--provider", "tooken"}, ExitUsage, "one or more token IDs"},
		{"rotate_needs_secret_name", map[string]string{"TOKENMINT_ADMIN_KEY": testKey}, []string{"rotate", "--provider", "tooken"}, ExitUsage, "--secret-name"},
		{"server_unreachable_is_failure", map[string]string{"TOKENMINT_ADMIN_KEY": testKey}, []string{"list", "--provider", "tooken", "--api-url", "http://127.0.0.1:1/v1", "--timeout", "1s"}, ExitFail, "failed to list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, tc.env, "", tc.args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d: %s", r.code, tc.wantCode, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "tokenmint: ") || !strings.Contains(last, tc.wantErr) {
				t.Errorf("last stderr line %q lacks %q", last, tc.wantErr)
			}
			if strings.Contains(r.stderr, testKey) {
				t.Errorf("stderr holds the admin key")
			}
		})
	}
}

func TestRun_AdminKeyFromStdin(t *testing.T) {
	t.Parallel()
	f, env := newFake(t)
	delete(env, "TOKENMINT_ADMIN_KEY")
	r := run(t, env, testKey+"\n", "mint", "--scopes", "tokens:read", "--admin-key-file", "-")
	if r.code != 0 || len(f.Store.All()) != 1 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}

func TestRun_Rotate(t *testing.T) {
	t.Parallel()
	f, env := newFake(t)
	gh := ghsecrets.New(testGHToken)
	gh.AutoRepos = true
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	env["GITHUB_TOKEN"] = testGHToken
	env["TOKENMINT_GITHUB_API_URL"] = srv.URL
	args := []string{"rotate", "--scopes", "tokens:read", "--secret-name", "API_TOKEN", "--secret-repositories", "o/a,o/b", "--name", "nightly", "--output", "json"}
	r := run(t, env, "", args...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var v rotationView
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	var got []string
	for _, tr := range v.Targets {
		got = append(got, tr.Target+" "+tr.Result)
	}
	want := []string{"actions repo o/a created", "actions repo o/b created"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	live := f.Store.Live()
	if len(live) != 1 {
		t.Fatalf("live = %d", len(live))
	}
	s, _ := gh.RepoSecret("actions", "o", "b", "API_TOKEN")
	if s.Value != live[0].Secret {
		t.Errorf("secret does not hold the minted token")
	}
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.Contains(out, live[0].Secret) || strings.Contains(out, testGHToken) || strings.Contains(out, testKey) {
			t.Errorf("rotate printed a secret")
		}
	}
	// A second rotation retires the first token; the table names it.
	args[len(args)-1] = "table"
	r2 := run(t, env, "", args...)
	if r2.code != 0 || !strings.Contains(r2.stdout, "revoked") {
		t.Fatalf("second rotate exit %d:\n%s\n%s", r2.code, r2.stdout, r2.stderr)
	}
	if n := len(f.Store.Live()); n != 1 {
		t.Errorf("live after second rotation = %d, want 1", n)
	}
}

func TestRun_Version(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "", "version")
	if r.code != 0 || r.stdout != "tokenmint dev\n" {
		t.Errorf("version = %d %q", r.code, r.stdout)
	}
}
