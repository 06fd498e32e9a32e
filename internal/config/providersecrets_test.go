package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/redact"
)

func TestParseProviderSecrets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		raw  string
		want map[string]redact.Secret
		errs []string
	}{
		{name: "empty", raw: "  \n"},
		{name: "two", raw: "password=p=ss w0rd\n\n otp = 123456 \r\n", want: map[string]redact.Secret{"password": "p=ss w0rd", "otp": "123456"}},
		{name: "bad_lines", raw: "password\nPass=x\nempty=\nok=1\nok=2", want: map[string]redact.Secret{"ok": "1"}, errs: []string{
			"line 1 must be NAME=value, NAME of lowercase letters, digits and _ (the value is not shown)",
			"line 2 must be NAME=value, NAME of lowercase letters, digits and _ (the value is not shown)",
			"line 3 (empty) has an empty value",
			"gives ok twice",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, errs := config.ParseProviderSecrets(tc.raw)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("secrets (-want +got):\n%s", diff)
			}
			var rules []string
			for _, e := range errs {
				var ie *inputerr.Error
				if !errors.As(e, &ie) {
					t.Fatalf("not an input error: %v", e)
				}
				if ie.Input != "provider-secrets" {
					t.Errorf("error on %q", ie.Input)
				}
				rules = append(rules, ie.Rule)
			}
			if diff := cmp.Diff(tc.errs, rules); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSecretValues_ProviderSecrets: the action announces the whole input,
// each line and each value.
func TestSecretValues_ProviderSecrets(t *testing.T) {
	t.Parallel()
	in, ok := config.Lookup("provider-secrets")
	if !ok || !in.Secret {
		t.Fatal("provider-secrets is not a secret input")
	}
	raw := "password=hunter2\notp=424242"
	want := []string{raw, "password=hunter2", "hunter2", "otp=424242", "424242"}
	if diff := cmp.Diff(want, config.SecretValues(in, raw)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestParse_ProviderSecrets: only the rest provider takes them; a profile
// that declares one needs it; values never reach an error.
func TestParse_ProviderSecrets(t *testing.T) {
	t.Parallel()
	profile := `
base_url: https://api.example.com
secrets: [password]
auth: {header: Authorization, value: "Bearer {{admin_key}}"}
create: {path: /k, body: {n: "{{name}}", p: "{{secret:password}}"}, expiry: fixed, response: {id: /id, secret: /s}}
revoke: {path: "/k/{{id}}"}
`
	cases := []struct {
		name string
		v    config.Values
		want []string
	}{
		{name: "ok", v: config.Values{"provider": "rest", "admin-key": "k", "provider-config": profile, "provider-secrets": "password=topsecret"}},
		{name: "missing", v: config.Values{"provider": "rest", "admin-key": "k", "provider-config": profile}, want: []string{
			`provider-secrets: must give password=… : the profile declares the secret "password"`,
		}},
		{name: "not_rest", v: config.Values{"provider": "tooken", "admin-key": "k", "scopes": "tokens:read", "provider-secrets": "password=topsecret"}, want: []string{
			"provider-secrets: is only used by the rest provider; remove it",
		}},
		{name: "ttl_given", v: config.Values{"provider": "rest", "admin-key": "k", "provider-config": profile, "provider-secrets": "password=topsecret", "ttl": "2h"}, want: []string{
			"ttl: is not sent: the REST service gives every token a lifetime of its own (create.expiry: fixed); remove ttl (the token is revoked when the job ends)",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Parse(tc.v, config.Env{Repository: "o/r", RunID: "1", RunAttempt: "1"})
			ies, rest := inputerr.List(err)
			var got []string
			for _, ie := range ies {
				got = append(got, ie.Input+": "+ie.Rule)
			}
			if len(rest) > 0 {
				t.Errorf("other errors: %v", rest)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if err != nil && strings.Contains(err.Error(), "topsecret") {
				t.Errorf("an error carries the secret: %v", err)
			}
			if err == nil && tc.v["provider"] == "rest" {
				if cfg.ProviderSecrets["password"].Reveal() != "topsecret" || strings.Contains(cfg.ProfileState, "topsecret") || !strings.HasPrefix(cfg.ProfileState, "{") {
					t.Errorf("config: secrets %v, profile state %q", cfg.ProviderSecrets, cfg.ProfileState)
				}
			}
		})
	}
}
