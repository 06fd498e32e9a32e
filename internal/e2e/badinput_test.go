package e2e

import (
	"strings"
	"testing"
)

// TestAction_BadInput: each bad input fails the step with one ::error::
// naming the input, exit 1, no request sent, and the admin key nowhere.
func TestAction_BadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		inputs map[string]string
		input  string // the input the error must name
	}{
		{"provider_missing", map[string]string{"provider": ""}, "provider"},
		{"provider_unknown", map[string]string{"provider": "vault"}, "provider"},
		{"admin_key_missing", map[string]string{"admin-key": ""}, "admin-key"},
		{"api_url_http_remote", map[string]string{"api-url": "http://api.tooken.io/v1"}, "api-url"},
		{"api_url_not_url", map[string]string{"api-url": "tooken"}, "api-url"},
		{"api_url_ftp", map[string]string{"api-url": "ftp://127.0.0.1/v1"}, "api-url"},
		{"api_url_credentials", map[string]string{"api-url": "https://user:pw@api.tooken.io/v1"}, "api-url"},
		{"api_url_query", map[string]string{"api-url": "https://api.tooken.io/v1?x=1"}, "api-url"},
		{"scopes_missing", map[string]string{"scopes": ""}, "scopes"},
		{"scopes_unknown", map[string]string{"scopes": "tokens:read, tokens:admin"}, "scopes"},
		{"scopes_wildcard", map[string]string{"scopes": "tokens:*"}, "scopes"},
		{"ttl_zero", map[string]string{"ttl": "0s"}, "ttl"},
		{"ttl_negative", map[string]string{"ttl": "-1h"}, "ttl"},
		{"ttl_garbage", map[string]string{"ttl": "soon"}, "ttl"},
		{"ttl_too_long_days", map[string]string{"ttl": "91d"}, "ttl"},
		{"ttl_too_long_hours", map[string]string{"ttl": "2161h"}, "ttl"},
		{"ttl_fractional_days", map[string]string{"ttl": "1.5d"}, "ttl"},
		{"export_env_path", map[string]string{"export-env": "PATH"}, "export-env"},
		{"export_env_bash_env", map[string]string{"export-env": "BASH_ENV"}, "export-env"},
		{"export_env_ld_preload", map[string]string{"export-env": "LD_PRELOAD"}, "export-env"},
		{"export_env_github_prefix", map[string]string{"export-env": "GITHUB_TOKEN"}, "export-env"},
		{"export_env_node_options_any_case", map[string]string{"export-env": "node_options"}, "export-env"},
		{"export_env_bad_chars", map[string]string{"export-env": "API-TOKEN"}, "export-env"},
		{"export_env_leading_digit", map[string]string{"export-env": "1TOKEN"}, "export-env"},
		{"revoke_bad", map[string]string{"revoke": "sometimes"}, "revoke"},
		{"revoke_failure_bad", map[string]string{"revoke-failure": "ignore"}, "revoke-failure"},
		{"timeout_garbage", map[string]string{"timeout": "fast"}, "timeout"},
		{"timeout_zero", map[string]string{"timeout": "0s"}, "timeout"},
		{"timeout_too_long", map[string]string{"timeout": "1h"}, "timeout"},
		{"name_newline", map[string]string{"name": "a\nb"}, "name"},
		{"client_id_for_tooken", map[string]string{"client-id": "abc"}, "client-id"},
		{"owner_for_tooken", map[string]string{"owner": "octo"}, "owner"},
		{"provider_config_for_tooken", map[string]string{"provider-config": "p.yaml"}, "provider-config"},
		{"secret_name_without_github_token", map[string]string{"secret-name": "API_TOKEN"}, "github-token"},
		{"secret_type_bad", map[string]string{"secret-type": "vault"}, "secret-type"},
		{"secret_type_codespaces_on_ghes", map[string]string{"secret-name": "API_TOKEN", "github-token": "ghp_x", "secret-type": "codespaces", "github-api-url": "https://ghes.example.com/api/v3"}, "secret-type"},
		{"secret_repositories_without_secret_name", map[string]string{"secret-repositories": "o/r"}, "secret-repositories"},
		{"dry_run_bad", map[string]string{"dry-run": "maybe"}, "dry-run"},
		{"grace_bad", map[string]string{"previous-token-grace": "later"}, "previous-token-grace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTooken(t)
			j := NewJob(t, e.inputs(tc.inputs))
			main := j.Main(t)
			if main.ExitCode != 1 {
				t.Fatalf("exit %d, want 1\n%s", main.ExitCode, main.Stdout)
			}
			var errs []string
			for _, line := range strings.Split(main.Stdout, "\n") {
				if strings.HasPrefix(line, "::error") {
					errs = append(errs, line)
				}
			}
			if len(errs) != 1 {
				t.Fatalf("want exactly one ::error:: line, got %d:\n%s", len(errs), main.Stdout)
			}
			if !strings.Contains(errs[0], `input "`+tc.input+`"`) {
				t.Errorf("error does not name input %q: %s", tc.input, errs[0])
			}
			if n := e.fake.Total(); n != 0 {
				t.Errorf("%d request(s) sent for a bad input", n)
			}
			// The key is announced to the runner before the error line (spec
			// main-phase step 2), and printed nowhere else.
			if leaks := j.Leaks([]string{adminKey}); len(leaks) > 0 {
				t.Errorf("admin key appears in the output: %v", leaks)
			}
			if missing := main.Unannounced(Forms(j.Inputs["admin-key"])); len(missing) > 0 {
				t.Errorf("admin key not announced before the error line: %v", missing)
			}
			if v, ok := tc.inputs[tc.input]; ok && len(v) > 3 && strings.Contains(errs[0], v) && tc.input != "provider" && tc.input != "export-env" {
				t.Errorf("error echoes the bad value %q: %s", v, errs[0])
			}
			post := j.Post(t)
			if post.ExitCode != 0 || strings.TrimSpace(post.Stdout) != "" {
				t.Errorf("post after a bad input: exit %d, output %q; want a quiet exit 0", post.ExitCode, post.Stdout)
			}
		})
	}
}
