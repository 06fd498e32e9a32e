package config_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider/all"
)

const adminKey = "tk_admin_0123456789abcdef-not-in-errors"

var fixedNow = time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)

func testEnv() config.Env {
	return config.Env{
		Repository: "octo-org/octo-repo", RunID: "4242", RunAttempt: "1", Action: "mint",
		Workspace: "/github/workspace", Now: func() time.Time { return fixedNow },
	}
}

func tookenValues(over map[string]string) config.Values {
	v := config.Values{"provider": "tooken", "admin-key": adminKey, "scopes": "tokens:read"}
	for k, x := range over {
		v[k] = x
	}
	return v
}

// inputsOf returns the input names of err's *inputerr.Error values, sorted
// and deduplicated, and fails on any error that is not an input error or
// that holds the admin key.
func inputsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), adminKey) {
		t.Fatalf("error holds the admin key: %v", err)
	}
	ies, rest := inputerr.List(err)
	if len(rest) > 0 {
		t.Fatalf("errors that are not input errors: %v", rest)
	}
	var out []string
	for _, ie := range ies {
		out = append(out, ie.Input)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestParse_Rules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		over map[string]string
		want []string
	}{
		{"valid", nil, nil},
		{"provider_missing", map[string]string{"provider": ""}, []string{"provider"}},
		{"provider_unknown", map[string]string{"provider": "vault"}, []string{"provider"}},
		{"provider_upper_case_accepted", map[string]string{"provider": " TOOKEN "}, nil},
		{"admin_key_missing", map[string]string{"admin-key": ""}, []string{"admin-key"}},
		{"admin_key_blank", map[string]string{"admin-key": " \n\t"}, []string{"admin-key"}},
		{"api_url_https", map[string]string{"api-url": "https://tooken.example.com/v1/"}, nil},
		{"api_url_http_loopback", map[string]string{"api-url": "http://127.0.0.1:8080/v1"}, nil},
		{"api_url_http_localhost", map[string]string{"api-url": "http://localhost:8080"}, nil},
		{"api_url_http_ipv6_loopback", map[string]string{"api-url": "http://[::1]:8080"}, nil},
		{"api_url_http_remote", map[string]string{"api-url": "http://api.tooken.io/v1"}, []string{"api-url"}},
		{"api_url_relative", map[string]string{"api-url": "tooken"}, []string{"api-url"}},
		{"api_url_ftp", map[string]string{"api-url": "ftp://127.0.0.1/v1"}, []string{"api-url"}},
		{"api_url_credentials", map[string]string{"api-url": "https://u:p@api.tooken.io"}, []string{"api-url"}},
		{"api_url_query", map[string]string{"api-url": "https://api.tooken.io/v1?x=1"}, []string{"api-url"}},
		{"api_url_fragment", map[string]string{"api-url": "https://api.tooken.io/v1#x"}, []string{"api-url"}},
		{"description_nul", map[string]string{"description": "a\x00b"}, []string{"description"}},
		{"scopes_missing", map[string]string{"scopes": ""}, []string{"scopes"}},
		{"scopes_unknown", map[string]string{"scopes": "tokens:read, tokens:admin"}, []string{"scopes"}},
		{"scopes_newlines", map[string]string{"scopes": "tokens:read\ntokens:write\r\n"}, nil},
		{"ttl_days", map[string]string{"ttl": "7d"}, nil},
		{"ttl_max", map[string]string{"ttl": "90d"}, nil},
		{"ttl_over_max", map[string]string{"ttl": "91d"}, []string{"ttl"}},
		{"ttl_zero", map[string]string{"ttl": "0s"}, []string{"ttl"}},
		{"ttl_negative", map[string]string{"ttl": "-1h"}, []string{"ttl"}},
		{"ttl_garbage", map[string]string{"ttl": "soon"}, []string{"ttl"}},
		{"owner_for_tooken", map[string]string{"owner": "octo"}, []string{"owner"}},
		{"repositories_for_tooken", map[string]string{"repositories": "a"}, []string{"repositories"}},
		{"permissions_for_tooken", map[string]string{"permissions": "contents:read"}, []string{"permissions"}},
		{"permissions_malformed", map[string]string{"permissions": "contents"}, []string{"permissions"}},
		{"provider_config_for_tooken", map[string]string{"provider-config": "p.yaml"}, []string{"provider-config"}},
		{"client_id_for_tooken", map[string]string{"client-id": "abc"}, []string{"client-id"}},
		{"name_ok", map[string]string{"name": "deploy-token"}, nil},
		{"name_control", map[string]string{"name": "a\x1bb"}, []string{"name"}},
		{"name_newline", map[string]string{"name": "a\nb"}, []string{"name"}},
		// A long name is a prefix: the ledger shortens it with a hash.
		{"name_long_is_a_prefix", map[string]string{"name": strings.Repeat("n", 101)}, nil},
		{"name_control_characters", map[string]string{"name": "a\nb"}, []string{"name"}},
		{"export_env_ok", map[string]string{"export-env": "API_TOKEN"}, nil},
		{"export_env_path", map[string]string{"export-env": "PATH"}, []string{"export-env"}},
		{"export_env_bad_chars", map[string]string{"export-env": "API-TOKEN"}, []string{"export-env"}},
		{"revoke_always", map[string]string{"revoke": "ALWAYS"}, nil},
		{"revoke_bad", map[string]string{"revoke": "sometimes"}, []string{"revoke"}},
		{"revoke_failure_fail", map[string]string{"revoke-failure": "fail"}, nil},
		{"revoke_failure_bad", map[string]string{"revoke-failure": "ignore"}, []string{"revoke-failure"}},
		{"timeout_ok", map[string]string{"timeout": "2m"}, nil},
		{"timeout_garbage", map[string]string{"timeout": "fast"}, []string{"timeout"}},
		{"timeout_zero", map[string]string{"timeout": "0s"}, []string{"timeout"}},
		{"timeout_too_long", map[string]string{"timeout": "6m"}, []string{"timeout"}},
		{"github_api_url_http_remote", map[string]string{"github-api-url": "http://github.example.com/api/v3"}, []string{"github-api-url"}},
		{"secret_name_without_token", map[string]string{"secret-name": "API_TOKEN"}, []string{"github-token"}},
		{"secret_name_with_token", map[string]string{"secret-name": "API_TOKEN", "github-token": "ghp_x"}, nil},
		{"secret_type_bad", map[string]string{"secret-type": "vault"}, []string{"secret-type"}},
		{"secret_type_codespaces_on_ghes", map[string]string{"secret-name": "API_TOKEN", "github-token": "ghp_x", "secret-type": "codespaces", "github-api-url": "https://ghes.example.com/api/v3"}, []string{"secret-type"}},
		{"secret_type_codespaces_on_github_com", map[string]string{"secret-name": "API_TOKEN", "github-token": "ghp_x", "secret-type": "codespaces"}, nil},
		{"secret_inputs_without_secret_name", map[string]string{"secret-repositories": "o/r", "secret-environment": "prod", "secret-org": "o", "secret-selected-repositories": "r"}, []string{"secret-environment", "secret-org", "secret-repositories", "secret-selected-repositories"}},
		{"grace_days", map[string]string{"previous-token-grace": "2d"}, nil},
		{"grace_negative", map[string]string{"previous-token-grace": "-1m"}, []string{"previous-token-grace"}},
		{"grace_bad", map[string]string{"previous-token-grace": "later"}, []string{"previous-token-grace"}},
		{"dry_run_true", map[string]string{"dry-run": "True"}, nil},
		{"dry_run_bad", map[string]string{"dry-run": "maybe"}, []string{"dry-run"}},
		{"every_problem_at_once", map[string]string{"provider": "tooken", "ttl": "x", "timeout": "x", "revoke": "x", "export-env": "PATH"}, []string{"export-env", "revoke", "timeout", "ttl"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Parse(tookenValues(tc.over), testEnv())
			if diff := cmp.Diff(tc.want, inputsOf(t, err)); diff != "" {
				t.Fatalf("inputs in error %v (-want +got):\n%s", err, diff)
			}
			if (err == nil) == (cfg == nil) {
				t.Fatalf("Parse returned config %v and error %v", cfg != nil, err)
			}
		})
	}
}

func TestParse_Defaults(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse(tookenValues(map[string]string{"scopes": "tokens:read, tokens:read,tokens:write"}), testEnv())
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Provider, APIURL, Name, Revoke, RevokeFailure, GitHubAPIURL, SecretType, SecretVisibility string
		NameGiven, DryRun, Rotation, RevokeInPost                                                 bool
		Scopes                                                                                    []string
		TTL, Timeout, Grace                                                                       time.Duration
		Key                                                                                       string
	}
	got := view{
		Provider: cfg.Provider, APIURL: cfg.APIURL, Name: cfg.Name, Revoke: cfg.Revoke, RevokeFailure: cfg.RevokeFailure,
		GitHubAPIURL: cfg.GitHubAPIURL, SecretType: cfg.SecretType, SecretVisibility: cfg.SecretVisibility,
		NameGiven: cfg.NameGiven, DryRun: cfg.DryRun, Rotation: cfg.Rotation(), RevokeInPost: cfg.RevokeInPost(),
		Scopes: cfg.Scopes, TTL: cfg.TTL, Timeout: cfg.Timeout, Grace: cfg.PreviousTokenGrace, Key: cfg.AdminKey.Reveal(),
	}
	want := view{
		Provider: "tooken", APIURL: "https://api.tooken.io/v1", Name: "tokenmint-octo-org-octo-repo-4242-1",
		Revoke: "auto", RevokeFailure: "warn", GitHubAPIURL: "https://api.github.com", SecretType: "actions", SecretVisibility: "private",
		RevokeInPost: true, Scopes: []string{"tokens:read", "tokens:write"}, TTL: time.Hour, Timeout: 30 * time.Second, Key: adminKey,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("defaults (-want +got):\n%s", diff)
	}
}

func TestParse_APIURLs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		over       map[string]string
		envAPI     string
		wantAPI    string
		wantGitHub string
	}{
		{"defaults", nil, "", "https://api.tooken.io/v1", "https://api.github.com"},
		{"trailing_slash_trimmed", map[string]string{"api-url": "https://t.example.com/v1/", "github-api-url": "https://ghe.example.com/api/v3/"}, "", "https://t.example.com/v1", "https://ghe.example.com/api/v3"},
		{"github_api_url_from_env", nil, "https://ghe.example.com/api/v3", "https://api.tooken.io/v1", "https://ghe.example.com/api/v3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := testEnv()
			env.APIURL = tc.envAPI
			cfg, err := config.Parse(tookenValues(tc.over), env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{tc.wantAPI, tc.wantGitHub}, []string{cfg.APIURL, cfg.GitHubAPIURL}); diff != "" {
				t.Fatalf("api-url, github-api-url (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse_RevokeInPost(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		over   map[string]string
		revoke bool
	}{
		{"auto_plain", nil, true},
		{"auto_rotation", map[string]string{"secret-name": "T", "github-token": "ghp_x"}, false},
		{"always_rotation", map[string]string{"secret-name": "T", "github-token": "ghp_x", "revoke": "always"}, true},
		{"never", map[string]string{"revoke": "never"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Parse(tookenValues(tc.over), testEnv())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.revoke, cfg.RevokeInPost()); diff != "" {
				t.Fatalf("RevokeInPost (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseManage_ScopesNotRequired(t *testing.T) {
	t.Parallel()
	if _, err := config.ParseManage(tookenValues(map[string]string{"scopes": ""}), testEnv()); err != nil {
		t.Fatalf("ParseManage without scopes: %v", err)
	}
	_, err := config.Parse(tookenValues(map[string]string{"scopes": ""}), testEnv())
	if diff := cmp.Diff([]string{"scopes"}, inputsOf(t, err)); diff != "" {
		t.Fatalf("Parse without scopes (-want +got):\n%s", diff)
	}
}

func TestDefaultName(t *testing.T) {
	t.Parallel()
	odd := config.Env{Repository: "Org/repo.with dots & spaces", RunID: "7", Job: "build (linux, 1.26)", Action: "my step/1"}
	cli := config.Env{Now: func() time.Time { return fixedNow }}
	cases := []struct {
		name string
		env  config.Env
		want string
	}{
		// The ledger appends -<nonce>; the prefix names the job, not the step.
		{"plain", func() config.Env { e := testEnv(); e.Job = "deploy"; return e }(), "tokenmint-octo-org-octo-repo-deploy-4242-1"},
		{"attempt_defaults_to_1", config.Env{Repository: "o/r", RunID: "9", Job: "j", Action: "a"}, "tokenmint-o-r-j-9-1"},
		{"no_job", config.Env{Repository: "o/r", RunID: "9", RunAttempt: "2"}, "tokenmint-o-r-9-2"},
		{"unsafe_characters", odd, "tokenmint-Org-repo.with_dots_spaces-build_linux_1.26-7-1"},
		{"cli", cli, "tokenmint-cli-20300506T070809Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, config.DefaultName(tc.env)); diff != "" {
				t.Fatalf("DefaultName (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckEnvName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		ok   bool
	}{
		{"API_TOKEN", true},
		{"_x", true},
		{"token2", true},
		{"", false},
		{"1TOKEN", false},
		{"API-TOKEN", false},
		{"A B", false},
		{"A=B", false},
		{"PATH", false},
		{"path", false},
		{"BASH_ENV", false},
		{"NODE_OPTIONS", false},
		{"Node_Options", false},
		{"LD_PRELOAD", false},
		{"DYLD_INSERT_LIBRARIES", false},
		{"GITHUB_TOKEN", false},
		{"github_output", false},
		{"RUNNER_TEMP", false},
		{"ACTIONS_RUNTIME_TOKEN", false},
		{"INPUT_ADMIN", false},
		{"STATE_token", false},
		{"GIT_CONFIG_KEY_0", false},
		{"HTTPS_PROXY", false},
		{"GITHUBX", true},
		// The names the issue saw accepted, one per family.
		{"DOCKER_HOST", false},
		{"GIT_PROXY_COMMAND", false},
		{"GIT_EXTERNAL_DIFF", false},
		{"LESSOPEN", false},
		{"RUSTC_WRAPPER", false},
		{"npm_config_script_shell", false},
		{"NPM_CONFIG_REGISTRY", false},
		{"PIP_INDEX_URL", false},
		{"CARGO_HOME", false},
		{"PYTHONSTARTUP", false},
		{"PERL5OPT", false},
		{"RUBYOPT", false},
		{"JAVA_TOOL_OPTIONS", false},
		{"ZDOTDIR", false},
		{"PROMPT_COMMAND", false},
		{"ftp_proxy", false},
		{"SSL_CERT_FILE", false},
		{"SSLKEYLOGFILE", false},
		{"KUBECONFIG", false},
		{"GOPROXY", false},
		{"GLIBC_TUNABLES", false},
		{"XDG_CONFIG_HOME", false},
		// Registry credential variables are what export-env is for.
		{"NODE_AUTH_TOKEN", true},
		{"CARGO_REGISTRY_TOKEN", true},
		{"CARGO_REGISTRIES_MY_REG_TOKEN", true},
		{"UV_PUBLISH_TOKEN", true},
		{"POETRY_PYPI_TOKEN_PYPI", true},
		// Near misses stay allowed.
		{"GOOGLE_TOKEN", true},
		{"DOCKERHUB_TOKEN", true},
		{"PROXY_TOKEN", true},
		{"LESSON", true},
	}
	for _, tc := range cases {
		t.Run(strings.ToLower(strings.NewReplacer(" ", "_", "=", "_", "-", "_").Replace(tc.name))+"_case", func(t *testing.T) {
			t.Parallel()
			err := config.CheckEnvName(tc.name)
			if diff := cmp.Diff(tc.ok, err == nil); diff != "" {
				t.Fatalf("CheckEnvName(%q) = %v (-want ok +got ok):\n%s", tc.name, err, diff)
			}
		})
	}
}

// TestCheckEnvName_EveryFamily instantiates every pattern of every
// family (each * as a word) and checks it is refused under that family,
// and every exception is accepted.
func TestCheckEnvName_EveryFamily(t *testing.T) {
	t.Parallel()
	for _, f := range config.RefusedEnv {
		for _, p := range f.Patterns {
			name := strings.ReplaceAll(p, "*", "X")
			err := config.CheckEnvName(name)
			var ee *config.EnvNameError
			if !errors.As(err, &ee) {
				t.Errorf("CheckEnvName(%q) = %v, want refused as %s", name, err, f.Family)
				continue
			}
			if ee.Family != f.Family || !strings.Contains(err.Error(), f.Family) {
				t.Errorf("CheckEnvName(%q) family = %q, want %q (%v)", name, ee.Family, f.Family, err)
			}
			if lower := strings.ToLower(name); config.CheckEnvName(lower) == nil {
				t.Errorf("CheckEnvName(%q) accepted the lower-case spelling", lower)
			}
		}
		for _, p := range f.Except {
			name := strings.ReplaceAll(p, "*", "X")
			if err := config.CheckEnvName(name); err != nil {
				t.Errorf("CheckEnvName(%q) = %v, want accepted (a registry credential variable)", name, err)
			}
		}
	}
}

func TestParseTTL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1h", time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{" 12h ", 12 * time.Hour, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"1d", 24 * time.Hour, true},
		{"0d", 0, false},
		{"0s", 0, false},
		{"-1h", 0, false},
		{"-1d", 0, false},
		{"1.5d", 0, false},
		{"d", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"100001d", 0, false},
		{"1e3d", 0, false},
		{"1hd", 0, false},
		{"+2d", 48 * time.Hour, true},
		{"1s", time.Second, true},
		{"1.5s", 1500 * time.Millisecond, true},
		{"999ms", 0, false},
		{"500ms", 0, false},
		{"1ns", 0, false},
	}
	for _, tc := range cases {
		t.Run("ttl_"+tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := config.ParseTTL(tc.in)
			if diff := cmp.Diff([]any{tc.want, tc.ok}, []any{got, err == nil}); diff != "" {
				t.Fatalf("ParseTTL(%q) err %v (-want +got):\n%s", tc.in, err, diff)
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"commas", "a,b, c ,", []string{"a", "b", "c"}},
		{"newlines", "a\nb\r\nc\n\n", []string{"a", "b", "c"}},
		{"mixed", " a , b\n c,\r\n,d ", []string{"a", "b", "c", "d"}},
		{"only_separators", ",\n,\r\n , ", nil},
		{"inner_spaces_kept", "contents: read, issues:write", []string{"contents: read", "issues:write"}},
		{"duplicates_kept", "a,a", []string{"a", "a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, config.SplitList(tc.in)); diff != "" {
				t.Fatalf("SplitList(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestParseBool(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in       string
		want, ok bool
	}{{"true", true, true}, {"TRUE", true, true}, {" false ", false, true}, {"", false, true}, {"yes", false, false}, {"1", false, false}} {
		got, err := config.ParseBool(tc.in)
		if diff := cmp.Diff([]bool{tc.want, tc.ok}, []bool{got, err == nil}); diff != "" {
			t.Errorf("ParseBool(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestParse_AdminKeyNeverInErrors(t *testing.T) {
	t.Parallel()
	// The admin key's value placed into every input must never come back
	// in an error.
	for _, in := range config.Inputs {
		if in.Name == "admin-key" {
			continue
		}
		t.Run(strings.ReplaceAll(in.Name, "-", "_"), func(t *testing.T) {
			t.Parallel()
			env := testEnv()
			env.Workspace = t.TempDir()
			for _, p := range append(all.Names(), "") {
				v := tookenValues(map[string]string{"provider": p, in.Name: adminKey})
				_, err := config.Parse(v, env)
				if err != nil && strings.Contains(err.Error(), adminKey) {
					t.Fatalf("provider %q: error holds the admin key: %v", p, err)
				}
				var ie *inputerr.Error
				if err != nil && !errors.As(err, &ie) {
					t.Fatalf("provider %q: error is not an input error: %v", p, err)
				}
			}
		})
	}
}

// TestParse_RestNameLimitTooSmall: a profile whose max_name_length cannot
// hold the nonce is one clear provider-config error (it used to panic in
// the name fitting with "slice bounds out of range").
func TestParse_RestNameLimitTooSmall(t *testing.T) {
	t.Parallel()
	profile := `
base_url: https://api.example.com
auth: {header: Authorization, value: "Bearer {{admin_key}}"}
create:
  path: /keys
  body: {name: "{{name}}"}
  expiry: none
  response: {id: /id, secret: /key}
revoke: {path: "/keys/{{id}}"}
`
	for _, limit := range []int{1, 2, 5, 8, 9, 10, ledger.MinNameLen - 1, ledger.MinNameLen, 100} {
		for _, name := range []string{"", "x", strings.Repeat("n", 300)} {
			v := config.Values{"provider": "rest", "admin-key": "k", "name": name,
				"provider-config": profile + fmt.Sprintf("max_name_length: %d\n", limit)}
			cfg, err := config.Parse(v, testEnv())
			if limit < ledger.MinNameLen {
				if diff := cmp.Diff([]string{"provider-config"}, inputsOf(t, err)); diff != "" {
					t.Errorf("limit %d: inputs in error %v (-want +got):\n%s", limit, err, diff)
				}
				continue
			}
			if err != nil {
				t.Fatalf("limit %d: %v", limit, err)
			}
			l, err := ledger.New(ledger.Options{Prefix: cfg.Name, MaxNameLen: cfg.Spec.MaxNameLen})
			if err != nil {
				t.Fatalf("limit %d: ledger: %v", limit, err)
			}
			for n := 1; n <= ledger.MaxAttempts; n++ {
				if got := l.Name(n); len(got) > limit || !strings.Contains(got, l.Nonce()) {
					t.Fatalf("limit %d: name %d %q is too long or lost the nonce", limit, n, got)
				}
			}
		}
	}
}
