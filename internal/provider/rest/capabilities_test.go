package rest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// capsBase is a valid profile using every capability; cases edit it.
const capsBase = `
base_url: https://api.example.com
secrets: [password]
name_field: /meta/label
scopes: [read, write]
auth: {header: Authorization, value: "Bearer {{admin_key}}"}
headers: {X-Client: "tm"}
create:
  path: /keys
  body: {meta: {label: "{{name}}"}, pw: "{{secret:password}}", ro: "{{scopes:readonly}}", note: "ci {{name}}x"}
  expiry: fixed
  scope_values:
    readonly: [{scopes: [read], value: true}, {scopes: [write], value: false}]
  response: {id: /id, secret: /key, expires_at: /key, expires_at_format: jwt}
revoke:
  path: "/keys/{{id}}"
  success: [204, {status: 200, pointer: /ok, equals: true}]
  gone: [404, {status: 500, pointer: /error, equals: user not found}]
  cannot_tell_unknown: true
list: {path: /keys, items: /data, item: {id: /id, name: /meta/label, created_at: /created}}
`

func TestParse_Capabilities(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{name: "ok", edit: func(s string) string { return s }},
		{name: "secret_undeclared", edit: func(s string) string { return strings.Replace(s, "secrets: [password]", "secrets: []", 1) }, want: []string{
			`secrets: must declare "password": the profile uses {{secret:password}}`,
		}},
		{name: "secret_unused_and_bad", edit: func(s string) string {
			return strings.Replace(s, "secrets: [password]", "secrets: [password, otp, Bad-Name, otp]", 1)
		}, want: []string{
			"secrets[2]: must be a name of lowercase letters, digits and _ (starting with a letter, at most 40)",
			"secrets[3]: is declared twice",
			`secrets: declares "otp" but no auth, header or create.body uses {{secret:otp}}`,
		}},
		{name: "secret_in_path", edit: func(s string) string {
			return strings.Replace(s, `path: "/keys/{{id}}"`, `path: "/keys/{{id}}/{{secret:password}}"`, 1)
		}, want: []string{
			"revoke.path: placeholder {{secret:password}} is not available here; use {{id}}, {{client_id}}",
			"revoke.path: must contain {{id}}",
		}},
		{name: "name_field_not_exact", edit: func(s string) string { return strings.Replace(s, "name_field: /meta/label", "name_field: /note", 1) }, want: []string{
			`name_field: must be the JSON pointer of a create.body member whose value is exactly "{{name}}" (the service must keep the exact name to find the token by it), or none`,
		}},
		{name: "name_field_none_but_list_name", edit: func(s string) string {
			s = strings.Replace(s, "name_field: /meta/label", "name_field: none", 1)
			return strings.Replace(s, `meta: {label: "{{name}}"}, `, "", 1)
		}, want: []string{
			"list.item.name: must not be set with name_field: none: tokens would be matched on a field that does not hold the name tokenmint sent (an owner or user is shared by many tokens)",
			`name_field: is none, but create.body sends {{name}}: point name_field at that member`,
		}},
		{name: "no_name_anywhere", edit: func(s string) string {
			s = strings.Replace(s, "name_field: /meta/label\n", "", 1)
			return strings.Replace(strings.Replace(s, `meta: {label: "{{name}}"}, `, "", 1), `note: "ci {{name}}x"`, `note: "x"`, 1)
		}, want: []string{
			"name_field: is required: create.body sends no exact {{name}}; point it at the member that carries the name, or set none when the service keeps nothing that can (then a create whose answer was lost cannot be found, and a warning says so)",
		}},
		{name: "scope_values_undefined_and_unused", edit: func(s string) string {
			return strings.Replace(strings.Replace(s, "    readonly: [", "    rw: [", 1), "{scopes: [write], value: false}", "{scopes: [admin], value: false}, {scopes: [read]}", 1)
		}, want: []string{
			"create.scope_values.rw: is not used: create.body has no {{scopes:rw}}",
			"create.scope_values.rw[1].scopes: must use scopes from the profile's scopes list",
			"create.scope_values.rw[2].value: is required",
			`create.scope_values: must define "readonly": create.body uses {{scopes:readonly}}`,
		}},
		{name: "expiry_conflicts", edit: func(s string) string {
			return strings.Replace(s, `note: "ci {{name}}x"`, `note: "ci {{name}}x", exp: "{{expiry}}"`, 1)
		}, want: []string{
			"create.expiry: is fixed, but create.body sends {{expiry}}: use sent",
		}},
		{name: "expiry_sent_without_placeholder", edit: func(s string) string { return strings.Replace(s, "expiry: fixed", "expiry: sent", 1) }, want: []string{
			"create.expiry: is sent, but create.body has no {{expiry}}",
		}},
		{name: "expiry_bad", edit: func(s string) string { return strings.Replace(s, "expiry: fixed", "expiry: never", 1) }, want: []string{
			"create.expiry: must be sent, fixed or none",
		}},
		{name: "revoke_rules_bad", edit: func(s string) string {
			return strings.Replace(s, "gone: [404, {status: 500, pointer: /error, equals: user not found}]", "gone: [42, {status: 500, pointer: error}, {status: 500, equals: x}, {status: 500, pointer: /e, equals: [1]}]", 1)
		}, want: []string{
			"revoke.gone[0]: must be an HTTP status (100 to 599), or {status: N, pointer: /json/pointer, equals: value}",
			`revoke.gone[1].pointer: must be a JSON pointer starting with "/"`,
			"revoke.gone[1].equals: is required with pointer: the value that identifies this answer",
			"revoke.gone[2].pointer: is required with equals: where in the JSON answer the value is",
			"revoke.gone[3].equals: must be a string, number or boolean",
		}},
		// Decoder messages about nested fields name the field, never a Go type.
		{name: "unknown_nested_field", edit: func(s string) string {
			return strings.Replace(s, "  expiry: fixed\n", "  expiry: fixed\n  fields: {}\n", 1)
		}, want: []string{
			`line 12: unknown field "fields"`,
		}},
		{name: "wrong_nested_type", edit: func(s string) string { return strings.Replace(s, "  expiry: fixed\n", "  expiry: [fixed]\n", 1) }, want: []string{
			"line 11: must be a string, not a YAML seq",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.edit(capsBase)))
			if diff := cmp.Diff(tc.want, rules(err)); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			if err != nil && (strings.Contains(err.Error(), "struct") || strings.Contains(err.Error(), "rest.")) {
				t.Errorf("an error shows Go types: %v", err)
			}
		})
	}
}

// TestLoad_LineAnnotation: an error with a known line in a profile file
// carries the file (relative to the workspace) and the line.
func TestLoad_LineAnnotation(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, "cfg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "cfg", "p.yaml"), []byte(capsBase+"bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []string{"cfg/p.yaml", filepath.Join(ws, "cfg", "p.yaml")} {
		_, err := Load(provider.Options{ProviderConfig: cfg, Workspace: ws})
		ies, _ := inputerr.List(err)
		if len(ies) != 1 || ies[0].File != "cfg/p.yaml" || ies[0].Line != 21 {
			t.Errorf("%s: errors %+v, want one at cfg/p.yaml line 21", cfg, ies)
		}
	}
	// Inline: no file to point at.
	_, err := Load(provider.Options{ProviderConfig: capsBase + "bogus: 1\n"})
	if ies, _ := inputerr.List(err); len(ies) != 1 || ies[0].File != "" {
		t.Errorf("inline: %+v", ies)
	}
}

// TestState_RoundTrip: the state form is a valid inline profile that
// compiles to the same profile, and holds none of the inputs.
func TestState_RoundTrip(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(capsBase))
	if err != nil {
		t.Fatal(err)
	}
	st := p.State()
	if !Inline(st) || strings.ContainsAny(st, "\n") {
		t.Fatalf("state %q is not one inline line", st)
	}
	q, err := Parse([]byte(st))
	if err != nil {
		t.Fatalf("state does not parse: %v", err)
	}
	if q.State() != st || q.nameField != p.nameField || q.expiry != p.expiry || !cmp.Equal(q.secrets, p.secrets) || len(q.revokeGone) != len(p.revokeGone) {
		t.Errorf("state round trip differs")
	}
}

func jwtWithExp(exp int64) string {
	b, _ := json.Marshal(map[string]int64{"exp": exp})
	enc := func(s []byte) string { return strings.TrimRight(base64URL(s), "=") }
	return enc([]byte(`{"alg":"HS256"}`)) + "." + enc(b) + ".c2ln"
}

// capsServer is a fake following capsBase.
type capsServer struct {
	mu     sync.Mutex
	bodies []map[string]any
	revoke []int // queued statuses for revokes: 200 {"ok":true}, 204, 500 variants
}

func (s *capsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/keys":
		var b map[string]any
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &b)
		s.bodies = append(s.bodies, b)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "k1", "key": jwtWithExp(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix())})
	case r.Method == http.MethodDelete:
		st := 204
		if len(s.revoke) > 0 {
			st, s.revoke = s.revoke[0], s.revoke[1:]
		}
		switch st {
		case 200:
			w.WriteHeader(200)
			_, _ = io.WriteString(w, `{"ok":true}`)
		case 201:
			w.WriteHeader(200)
			_, _ = io.WriteString(w, `{"ok":false}`)
		case 500:
			w.WriteHeader(500)
			_, _ = io.WriteString(w, `{"error":"user not found"}`)
		case 501:
			w.WriteHeader(500)
			_, _ = io.WriteString(w, `{"error":"disk full"}`)
		default:
			w.WriteHeader(st)
		}
	default:
		http.NotFound(w, r)
	}
}

func TestCapabilities_Requests(t *testing.T) {
	t.Parallel()
	srv := &capsServer{}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	var mu sync.Mutex
	var warns []string
	p, err := New(provider.Options{
		APIURL: hs.URL, AdminKey: "adm", ProviderConfig: capsBase,
		Secrets: map[string]redact.Secret{"password": "s3cret"},
		HTTP:    httpx.New(httpx.WithBackoff(time.Millisecond, time.Millisecond)),
		Warnf:   func(f string, a ...any) { mu.Lock(); warns = append(warns, f); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		scopes []string
		ro     bool
	}{{[]string{"read"}, true}, {[]string{"write"}, false}} {
		tok, err := p.Mint(ctx, provider.MintRequest{Name: "n-abc", Scopes: tc.scopes, TTL: time.Hour})
		if err != nil {
			t.Fatalf("Mint: %v", err)
		}
		if !tok.ExpiresAt.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("ExpiresAt = %v, want the JWT's exp", tok.ExpiresAt)
		}
		if tok.Name != "n-abc" {
			t.Errorf("Name = %q", tok.Name)
		}
	}
	want := []map[string]any{
		{"meta": map[string]any{"label": "n-abc"}, "pw": "s3cret", "ro": true, "note": "ci n-abcx"},
		{"meta": map[string]any{"label": "n-abc"}, "pw": "s3cret", "ro": false, "note": "ci n-abcx"},
	}
	if diff := cmp.Diff(want, srv.bodies); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
	if len(warns) != 2 {
		t.Errorf("warnings = %q, want one per mint (an expiry later than the ttl)", warns)
	}
	// Scopes matching no case: an input error before any request.
	if _, err := p.Mint(ctx, provider.MintRequest{Name: "n", Scopes: []string{"read", "write"}}); err == nil || len(srv.bodies) != 2 {
		t.Errorf("Mint(read,write) = %v, %d requests", err, len(srv.bodies))
	}

	// Revoke answers judged by status and body.
	for _, tc := range []struct {
		name    string
		answers []int
		ok      bool
	}{
		{"204", []int{204}, true},
		{"200_ok_true", []int{200}, true},
		{"200_ok_false_is_an_error", []int{201}, false},
		{"404_gone", []int{404}, true},
		{"500_user_not_found_gone", []int{500}, true},
		{"500_other_retried", []int{501, 501, 204}, true},
		{"403", []int{403}, false},
	} {
		srv.mu.Lock()
		srv.revoke = tc.answers
		srv.mu.Unlock()
		err := p.Revoke(ctx, provider.Token{ID: "k1"})
		if (err == nil) != tc.ok {
			t.Errorf("%s: Revoke = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error carries the secret", tc.name)
		}
		srv.mu.Lock()
		left := len(srv.revoke)
		srv.mu.Unlock()
		if tc.ok && left != 0 {
			t.Errorf("%s: %d queued answers unused", tc.name, left)
		}
	}
}

func TestCapabilities_UndeclaredExpiry(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	undeclared := strings.Replace(minimal, "  expiry: none\n", "", 1)
	q, err := Parse([]byte(undeclared))
	if err != nil {
		t.Fatalf("a profile without create.expiry must still parse: %v", err)
	}
	for _, tc := range []struct {
		p    *Profile
		want string
	}{
		{p, `ttl: is not sent: the REST service does not expire its tokens (create.expiry: none); remove ttl (the token is revoked when the job ends)`},
		{q, `ttl: is not sent: the REST service is sent no expiry: the profile's create.body has no {{expiry}} (declare create.expiry: fixed or none to say what the service does); remove ttl (the token is revoked when the job ends)`},
	} {
		errs := checkMint(tc.p, provider.MintRequest{TTL: time.Hour, TTLGiven: true})
		var got []string
		for _, e := range errs {
			var ie *inputerr.Error
			if !errors.As(e, &ie) {
				t.Fatalf("not an input error: %v", e)
			}
			got = append(got, ie.Input+": "+ie.Rule)
		}
		if diff := cmp.Diff([]string{tc.want}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if errs := checkMint(tc.p, provider.MintRequest{TTL: time.Hour}); len(errs) != 0 {
			t.Errorf("the default ttl is an error: %v", errs)
		}
	}
}

func base64URL(b []byte) string { return base64.URLEncoding.EncodeToString(b) }
