package githubapp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake/ghapp"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/githubapp"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// inputs returns the (input, rule) pairs of err, failing on other errors.
func inputs(t *testing.T, err error) []string {
	t.Helper()
	ins, rest := inputerr.List(err)
	if len(rest) > 0 {
		t.Fatalf("non-input errors: %v", rest)
	}
	var out []string
	for _, e := range ins {
		out = append(out, e.Input)
	}
	return out
}

func TestParsePermissions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		in         string
		want       map[string]string
		wantInputs []string
	}{
		{name: "empty", in: " \n ", want: nil},
		{name: "only_separators", in: " , \n,", wantInputs: []string{"permissions"}},
		{name: "commas_and_newlines", in: "contents:read, issues:write\npull-requests: write\n\n", want: map[string]string{"contents": "read", "issues": "write", "pull_requests": "write"}},
		{name: "case_and_spaces", in: " Contents : READ ", want: map[string]string{"contents": "read"}},
		{name: "admin_where_allowed", in: "organization_projects:admin", want: map[string]string{"organization_projects": "admin"}},
		{name: "same_twice_same_level", in: "contents:read,contents:read", want: map[string]string{"contents": "read"}},
		{name: "unknown_name", in: "contents:read,bogus:read", wantInputs: []string{"permissions"}},
		{name: "level_not_allowed", in: "workflows:read", wantInputs: []string{"permissions"}},
		{name: "admin_not_allowed", in: "contents:admin", wantInputs: []string{"permissions"}},
		{name: "no_level", in: "contents", wantInputs: []string{"permissions"}},
		{name: "conflicting_levels", in: "contents:read,contents:write", wantInputs: []string{"permissions"}},
		{name: "every_error_reported", in: "x:read,contents,issues:admin", wantInputs: []string{"permissions", "permissions", "permissions"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := githubapp.ParsePermissions(tc.in)
			if diff := cmp.Diff(tc.wantInputs, inputs(t, err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("permissions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePermissions_hostileNameNotEchoed(t *testing.T) {
	t.Parallel()
	_, err := githubapp.ParsePermissions("::stop-commands::x:read, ##[add-mask]y:read")
	if err == nil {
		t.Fatal("no error")
	}
	if s := err.Error(); strings.Contains(s, "::") || strings.Contains(s, "##[") {
		t.Errorf("error echoes workflow commands: %q", s)
	}
}

func TestPermissions_list(t *testing.T) {
	t.Parallel()
	ins := githubapp.ActionInputs()
	var perms []string
	for _, in := range ins {
		if n, ok := strings.CutPrefix(in.Name, "permission-"); ok {
			perms = append(perms, strings.ReplaceAll(n, "-", "_"))
			if in.Default != "" {
				t.Errorf("%s has a default; an alias must not", in.Name)
			}
			if !strings.Contains(in.Description, "Can be set to") {
				t.Errorf("%s description does not give levels: %q", in.Name, in.Description)
			}
		}
	}
	if diff := cmp.Diff(githubapp.Permissions, sortedCopy(perms)); diff != "" {
		t.Errorf("permission inputs differ from Permissions (-want +got):\n%s", diff)
	}
	for _, must := range []string{"actions", "contents", "pull_requests", "organization_secrets", "workflows", "starring", "organization_custom_properties"} {
		if _, ok := githubapp.LookupPermission(must); !ok {
			t.Errorf("permission %s missing", must)
		}
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

func TestResolveAliases(t *testing.T) {
	t.Parallel()
	key := ghapp.TestKey(0).PKCS1PEM()
	cases := []struct {
		name       string
		in         map[string]string
		want       githubapp.Aliases
		wantInputs []string
	}{
		{name: "new_names_only", in: map[string]string{"client-id": "Iv23abc", "admin-key": key, "api-url": "https://ghes.example.com/api/v3/", "permissions": "contents:read", "revoke": "auto"},
			want: githubapp.Aliases{ClientID: "Iv23abc", AdminKey: redact.Secret(strings.TrimSpace(key)), APIURL: "https://ghes.example.com/api/v3", Permissions: map[string]string{"contents": "read"}, Revoke: "auto"}},
		{name: "aliases_only", in: map[string]string{"app-id": "123", "private-key": key, "github-api-url": "https://api.github.com", "permission-pull-requests": "write", "permission-contents": "read", "skip-token-revoke": "true", "revoke": "auto"},
			want: githubapp.Aliases{ClientID: "123", AdminKey: redact.Secret(strings.TrimSpace(key)), APIURL: "https://api.github.com", Permissions: map[string]string{"contents": "read", "pull_requests": "write"}, Revoke: "never",
				Used: []string{"app-id", "private-key", "github-api-url", "permission-contents", "permission-pull-requests", "skip-token-revoke"}}},
		{name: "both_names_same_value", in: map[string]string{"client-id": "123", "app-id": " 123 ", "permissions": "issues:write", "permission-issues": "write"},
			want: githubapp.Aliases{ClientID: "123", Permissions: map[string]string{"issues": "write"}, Used: []string{"app-id", "permission-issues"}}},
		{name: "skip_token_revoke_false", in: map[string]string{"skip-token-revoke": "false", "revoke": "always"},
			want: githubapp.Aliases{Revoke: "always", Used: []string{"skip-token-revoke"}}},
		{name: "conflicting_client_id", in: map[string]string{"client-id": "123", "app-id": "456"}, wantInputs: []string{"app-id"}},
		{name: "conflicting_key", in: map[string]string{"admin-key": key, "private-key": ghapp.TestKey(1).PKCS1PEM()}, wantInputs: []string{"private-key"}},
		{name: "conflicting_api_url", in: map[string]string{"api-url": "https://a.example", "github-api-url": "https://b.example"}, wantInputs: []string{"github-api-url"}},
		{name: "conflicting_permission", in: map[string]string{"permissions": "contents:read", "permission-contents": "write"}, wantInputs: []string{"permission-contents"}},
		{name: "bad_permission_level", in: map[string]string{"permission-workflows": "read"}, wantInputs: []string{"permission-workflows"}},
		{name: "skip_and_always", in: map[string]string{"skip-token-revoke": "true", "revoke": "always"}, wantInputs: []string{"skip-token-revoke"}},
		{name: "skip_not_boolean", in: map[string]string{"skip-token-revoke": "yes"}, wantInputs: []string{"skip-token-revoke"}},
		{name: "every_conflict_reported", in: map[string]string{"client-id": "1", "app-id": "2", "permissions": "nope:read", "skip-token-revoke": "maybe"}, wantInputs: []string{"app-id", "permissions", "skip-token-revoke"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := githubapp.ResolveAliases(func(n string) string { return tc.in[n] })
			if diff := cmp.Diff(tc.wantInputs, inputs(t, err)); diff != "" {
				t.Fatalf("errors (-want +got):\n%s", diff)
			}
			if err != nil {
				for _, v := range []string{key, "BEGIN", "456", "b.example"} {
					if strings.Contains(err.Error(), v) {
						t.Errorf("error echoes a value: %q", err)
					}
				}
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Aliases (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveTarget(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		owner      string
		repos      []string
		current    string
		wantOwner  string
		wantRepos  []string
		wantInputs []string
	}{
		{name: "current_repository", current: "octo-org/alpha", wantOwner: "octo-org", wantRepos: []string{"alpha"}},
		{name: "owner_only", owner: "octo-org", current: "me/x", wantOwner: "octo-org"},
		{name: "repositories_in_current_owner", repos: []string{"a", "b"}, current: "me/x", wantOwner: "me", wantRepos: []string{"a", "b"}},
		{name: "repositories_naming_owner", repos: []string{"o/a", "O/b"}, current: "me/x", wantOwner: "o", wantRepos: []string{"a", "b"}},
		{name: "owner_and_full_names", owner: "Octo-Org", repos: []string{"octo-org/a", "b", "a"}, wantOwner: "Octo-Org", wantRepos: []string{"a", "b"}},
		{name: "mixed_owners_without_owner_uses_current", repos: []string{"o/a", "p/b"}, current: "o/x", wantInputs: []string{"repositories"}},
		{name: "other_owner", owner: "octo-org", repos: []string{"someone/a"}, wantInputs: []string{"repositories"}},
		{name: "no_github_repository", wantInputs: []string{"owner"}},
		{name: "bad_owner", owner: "bad owner", wantInputs: []string{"owner"}},
		{name: "bad_repository", owner: "o", repos: []string{"a b", ".."}, wantInputs: []string{"repositories", "repositories"}},
		{name: "too_many", owner: "o", repos: manyRepos(501), wantInputs: []string{"repositories"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			owner, repos, err := githubapp.ResolveTarget(tc.owner, tc.repos, tc.current)
			if diff := cmp.Diff(tc.wantInputs, inputs(t, err)); diff != "" {
				t.Fatalf("errors (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff([]any{tc.wantOwner, tc.wantRepos}, []any{owner, repos}); diff != "" {
				t.Errorf("target (-want +got):\n%s", diff)
			}
		})
	}
}

func manyRepos(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "r" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + itoa(int64(i))
	}
	return out
}

func pemOf(t *testing.T, typ string, der []byte, headers map[string]string) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der, Headers: headers}))
}

func TestParsePrivateKey(t *testing.T) {
	t.Parallel()
	k := ghapp.TestKey(0)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	ec8, _ := x509.MarshalPKCS8PrivateKey(ec)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&k.Private.PublicKey)
	pkcs1 := x509.MarshalPKCS1PrivateKey(k.Private)
	cases := []struct {
		name    string
		in      string
		wantErr string // substring of the rule; "" = ok
	}{
		{name: "pkcs1", in: k.PKCS1PEM()},
		{name: "pkcs8", in: k.PKCS8PEM()},
		{name: "escaped_newlines", in: k.EscapedPEM()},
		{name: "escaped_crlf", in: strings.ReplaceAll(strings.TrimSpace(k.PKCS8PEM()), "\n", `\r\n`)},
		{name: "crlf_and_indent", in: "  " + strings.ReplaceAll(k.PKCS1PEM(), "\n", "\r\n    ")},
		{name: "empty", in: "  ", wantErr: "is required"},
		{name: "garbage", in: "not a key at all " + strings.Repeat("A", 40), wantErr: "is not a PEM private key"},
		{name: "truncated", in: k.PKCS1PEM()[:400] + "\n-----END RSA PRIVATE KEY-----\n", wantErr: "is not a PEM"},
		{name: "damaged_pkcs1", in: pemOf(t, "RSA PRIVATE KEY", pkcs1[:len(pkcs1)-20], nil), wantErr: "does not parse as PKCS#1"},
		{name: "ec_sec1", in: pemOf(t, "EC PRIVATE KEY", ecDER, nil), wantErr: "is an EC key"},
		{name: "ec_pkcs8", in: pemOf(t, "PRIVATE KEY", ec8, nil), wantErr: "not RSA"},
		{name: "encrypted_pkcs8", in: pemOf(t, "ENCRYPTED PRIVATE KEY", []byte("opaque-encrypted-bytes"), nil), wantErr: "is an encrypted private key"},
		{name: "encrypted_legacy", in: pemOf(t, "RSA PRIVATE KEY", pkcs1, map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"}), wantErr: "is an encrypted private key"},
		{name: "public_key", in: pemOf(t, "PUBLIC KEY", pub, nil), wantErr: "public key"},
		{name: "openssh", in: pemOf(t, "OPENSSH PRIVATE KEY", []byte("openssh-key-v1"), nil), wantErr: "OpenSSH"},
		{name: "two_blocks", in: k.PKCS1PEM() + k.PKCS8PEM(), wantErr: "more than one PEM block"},
		{name: "short_rsa", in: pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small), nil), wantErr: "shorter than 2048 bits"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := githubapp.ParsePrivateKey(tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ParsePrivateKey: %v", err)
				}
				if !got.Equal(k.Private) {
					t.Errorf("parsed a different key")
				}
				return
			}
			var ie *inputerr.Error
			if !errors.As(err, &ie) || ie.Input != "admin-key" {
				t.Fatalf("error = %v, want an input error on admin-key", err)
			}
			if !strings.Contains(ie.Rule, tc.wantErr) {
				t.Errorf("rule = %q, want it to say %q", ie.Rule, tc.wantErr)
			}
			// Never any part of the key: no base64 run of the input.
			body := strings.Join(strings.Fields(strings.ReplaceAll(tc.in, `\n`, "\n")), "\n")
			for _, line := range strings.Split(body, "\n") {
				if len(line) >= 16 && !strings.HasPrefix(line, "-----") && strings.Contains(err.Error(), line[:16]) {
					t.Errorf("error echoes key material: %q", err)
				}
			}
		})
	}
}

func TestSpec_Check(t *testing.T) {
	t.Parallel()
	good := provider.Options{ClientID: "Iv1.0123456789abcdef", AdminKey: redact.Secret(ghapp.TestKey(0).PKCS1PEM())}
	cases := []struct {
		name       string
		mutate     func(*provider.Options, *provider.MintRequest)
		wantInputs []string
	}{
		{name: "ok"},
		{name: "ok_numeric_app_id", mutate: func(o *provider.Options, _ *provider.MintRequest) { o.ClientID = "123456" }},
		{name: "ok_new_client_id", mutate: func(o *provider.Options, _ *provider.MintRequest) { o.ClientID = "Iv23liAbCdEf12345678" }},
		{name: "no_client_id", mutate: func(o *provider.Options, _ *provider.MintRequest) { o.ClientID = "" }, wantInputs: []string{"client-id"}},
		{name: "bad_client_id", mutate: func(o *provider.Options, _ *provider.MintRequest) { o.ClientID = "Ov23liOAuthApp" }, wantInputs: []string{"client-id"}},
		{name: "zero_app_id", mutate: func(o *provider.Options, _ *provider.MintRequest) { o.ClientID = "0" }, wantInputs: []string{"client-id"}},
		{name: "bad_key", mutate: func(o *provider.Options, _ *provider.MintRequest) { o.AdminKey = "tok_live_x" }, wantInputs: []string{"admin-key"}},
		{name: "bad_permissions", mutate: func(_ *provider.Options, r *provider.MintRequest) {
			r.Permissions = map[string]string{"contents": "admin", "bogus": "read"}
		}, wantInputs: []string{"permissions", "permissions"}},
		{name: "scopes_given", mutate: func(_ *provider.Options, r *provider.MintRequest) { r.Scopes = []string{"repo"} }, wantInputs: []string{"scopes"}},
		{name: "repositories_of_other_owner", mutate: func(_ *provider.Options, r *provider.MintRequest) {
			r.Owner, r.Repositories = "o", []string{"p/x"}
		}, wantInputs: []string{"repositories"}},
		{name: "everything_wrong", mutate: func(o *provider.Options, r *provider.MintRequest) {
			o.ClientID, o.AdminKey, r.Owner = "", "", "-bad-"
		}, wantInputs: []string{"client-id", "admin-key", "owner"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, r := good, provider.MintRequest{Owner: "octo-org", Permissions: map[string]string{"contents": "read"}}
			if tc.mutate != nil {
				tc.mutate(&o, &r)
			}
			err := githubapp.Spec.Check(o, r)
			if diff := cmp.Diff(tc.wantInputs, inputs(t, err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if _, nerr := githubapp.New(o); (nerr == nil) != (len(tc.wantInputs) == 0 || !hasAny(tc.wantInputs, "client-id", "admin-key")) {
				t.Errorf("New error = %v, inconsistent with Check", nerr)
			}
		})
	}
}

func hasAny(list []string, vs ...string) bool {
	for _, l := range list {
		for _, v := range vs {
			if l == v {
				return true
			}
		}
	}
	return false
}

func TestSpec_limits(t *testing.T) {
	t.Parallel()
	got := []any{githubapp.Spec.Name, githubapp.Spec.DefaultAPIURL, githubapp.Spec.MaxTTL.String(), githubapp.Spec.Scopes == nil}
	want := []any{"github-app", "https://api.github.com", "1h0m0s", true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Spec (-want +got):\n%s", diff)
	}
}
