package rest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
)

// minimal is the smallest valid profile.
const minimal = `
base_url: https://api.example.com
auth: {header: Authorization, value: "Bearer {{admin_key}}"}
create:
  path: /keys
  body: {name: "{{name}}"}
  expiry: none
  response: {id: /id, secret: /key}
revoke: {path: "/keys/{{id}}"}
`

// rules returns the rules of the provider-config input errors in err, and
// "<input>: <rule>" for other inputs.
func rules(err error) []string {
	ies, rest := inputerr.List(err)
	var out []string
	for _, ie := range ies {
		if ie.Input == Input {
			out = append(out, ie.Rule)
		} else {
			out = append(out, ie.Input+": "+ie.Rule)
		}
	}
	for _, r := range rest {
		out = append(out, "not an input error: "+r.Error())
	}
	return out
}

func TestParse_Errors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		profile string
		want    []string
	}{
		{name: "minimal_ok", profile: minimal},
		{name: "empty", profile: "\n", want: []string{"the profile is empty"}},
		{name: "not_yaml", profile: "a: [\n", want: []string{"is not valid YAML or JSON: line 1: did not find expected node content"}},
		{name: "unknown_field", profile: minimal + "bogus: 1\n", want: []string{`line 10: unknown field "bogus"`}},
		{name: "wrong_type_hides_value", profile: minimal + "max_name_length: secretvalue\n", want: []string{"line 10: must be a whole number, not a YAML str"}},
		{name: "nothing", profile: "name: x\n", want: []string{
			"auth: is required: a header and value template, or basic",
			"create: is required",
			"revoke: is required",
		}},
		{name: "pointer_without_slash", profile: strings.Replace(minimal, "id: /id", "id: id", 1), want: []string{
			`create.response.id: must be a JSON pointer starting with "/"`,
		}},
		{name: "bad_pointer_escape", profile: strings.Replace(minimal, "secret: /key", "secret: /k~2", 1), want: []string{
			`create.response.secret: is not a valid JSON pointer: "~" must be followed by 0 or 1`,
		}},
		{name: "everything_at_once", profile: `
base_url: http://api.example.com
auth: {header: "Bad Header", value: "Bearer"}
create:
  method: FETCH
  path: keys
  body: {name: "{{nam}}", n: "{{name", e: "{{expiry:weeks}}"}
  expiry_format: hours
  success: [42]
  response: {secret: key, expires_at_format: iso}
revoke: {path: /keys, gone: [404]}
list:
  path: /keys
  items: data
  item: {id: /id, secret: /key}
  paging: {per_page: 0}
rotate: {path: "/keys/{{admin_key}}"}
`, want: []string{
			"base_url: must use https:// (http:// is allowed only for localhost, 127.0.0.0/8 and ::1)",
			"auth.header: must be an HTTP header name",
			"auth.value: must contain {{admin_key}}",
			"create.method: must be one of GET, POST, PUT, PATCH, DELETE",
			`create.path: must start with "/" (it is appended to the base URL)`,
			"create.success: must list HTTP statuses (100 to 599)",
			"create.body.e: placeholder {{expiry:weeks}} is not available here; use {{name}}, {{description}}, {{scopes}}, {{scopes:NAME}}, {{expiry}}, {{expiry:FORMAT}}, {{client_id}}, {{secret:NAME}}",
			`create.body.n: has "{{" without "}}"`,
			"create.body.name: placeholder {{nam}} is not available here; use {{name}}, {{description}}, {{scopes}}, {{scopes:NAME}}, {{expiry}}, {{expiry:FORMAT}}, {{client_id}}, {{secret:NAME}}",
			"create.expiry_format: must be one of rfc3339, unix, seconds, days",
			"create.response.id: is required",
			`create.response.secret: must be a JSON pointer starting with "/"`,
			"create.response.expires_at_format: must be rfc3339, unix, unix_ms or jwt",
			"revoke.path: must contain {{id}}",
			`list.items: must be a JSON pointer starting with "/"`,
			"list.item.secret: is not read here: listings carry no secrets",
			"list.item.name: is required: tokens are found by the exact name tokenmint sent (or set name_field: none when the service keeps no name)",
			"list.paging.page_param: is required",
			"list.paging.per_page: must be 1 or more (a shorter page ends the listing)",
			"rotate.path: placeholder {{admin_key}} is not available here; use {{id}}, {{client_id}}",
			"rotate.path: must contain {{id}}",
		}},
		{name: "admin_key_outside_auth", profile: strings.Replace(minimal, `{name: "{{name}}"}`, `{name: "{{name}}", k: "{{admin_key}}"}`, 1), want: []string{
			"create.body.k: placeholder {{admin_key}} is not available here; use {{name}}, {{description}}, {{scopes}}, {{scopes:NAME}}, {{expiry}}, {{expiry:FORMAT}}, {{client_id}}, {{secret:NAME}}",
		}},
		{name: "scopes_without_placeholder", profile: minimal + "scopes: [read]\nscopes_required: true\n", want: []string{
			"scopes_required: needs {{scopes}} in create.body",
			"scopes: lists scopes but create.body has no {{scopes}} to send them in",
		}},
		{name: "both_auth_kinds", profile: strings.Replace(minimal, `auth: {header: Authorization, value: "Bearer {{admin_key}}"}`, `auth: {header: X, value: "{{admin_key}}", basic: {}}`, 1), want: []string{
			"auth: set either header and value, or basic, not both",
		}},
		{name: "basic_defaults_ok", profile: strings.Replace(minimal, `auth: {header: Authorization, value: "Bearer {{admin_key}}"}`, `auth: {basic: {}}`, 1)},
		{name: "mapping_expected", profile: "auth: 1\ncreate: [a]\nscopes: {a: b}\nrevoke: {gone: x}\n", want: []string{
			"line 1: must be a mapping, not a YAML int",
			"line 2: must be a mapping, not a YAML seq",
			"line 3: must be a list, not a YAML map",
			"line 4: must be a list, not a YAML str",
		}},
		{name: "json_with_tabs", profile: "{\n\t\"base_url\": \"https://x.example\",\n\t\"auth\": {\"header\": \"X-Key\", \"value\": \"{{admin_key}}\"},\n\t\"create\": {\"path\": \"/k\", \"body\": {\"label\": \"{{name}}\"}, \"expiry\": \"fixed\", \"response\": {\"id\": \"/id\", \"secret\": [\"/key\", \"/data/key\"]}},\n\t\"revoke\": {\"path\": \"/k/{{id}}\"}\n}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.profile))
			if diff := cmp.Diff(tc.want, rules(err)); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			if err != nil && strings.Contains(err.Error(), "secretvalue") {
				t.Errorf("error echoes a value: %v", err)
			}
		})
	}
}

func TestPointer_Resolve(t *testing.T) {
	t.Parallel()
	var doc any
	if err := json.Unmarshal([]byte(`{"a":{"b/c":[10,{"m~n":"x"}],"":"empty","n":null},"01":"lead"}`), &doc); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		pointer string
		want    any
		found   bool
	}{
		{name: "root", pointer: "", want: doc, found: true},
		{name: "escaped_slash", pointer: "/a/b~1c/0", want: float64(10), found: true},
		{name: "escaped_tilde", pointer: "/a/b~1c/1/m~0n", want: "x", found: true},
		{name: "empty_key", pointer: "/a/", want: "empty", found: true},
		{name: "null_exists", pointer: "/a/n", want: nil, found: true},
		{name: "missing", pointer: "/a/zz"},
		{name: "index_out_of_range", pointer: "/a/b~1c/2"},
		{name: "index_leading_zero", pointer: "/a/b~1c/00"},
		{name: "index_dash", pointer: "/a/b~1c/-"},
		{name: "object_key_with_leading_zero", pointer: "/01", want: "lead", found: true},
		{name: "through_scalar", pointer: "/01/x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := parsePointer(tc.pointer, true)
			if err != nil {
				t.Fatalf("parsePointer: %v", err)
			}
			got, found := p.resolve(doc)
			if diff := cmp.Diff(tc.found, found); diff != "" {
				t.Errorf("found (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFill_Body(t *testing.T) {
	t.Parallel()
	tree := map[string]any{
		"name":   "{{name}}",
		"label":  "made by {{name}} for {{scopes}}",
		"scopes": "{{scopes}}",
		"desc":   "{{description}}",
		"exp":    "{{expiry:days}}",
		"fixed":  true,
		"nested": []any{"{{name}}", "{{description}}", float64(3)},
	}
	body, errs := parseBody(tree, "create.body", bodyPlaceholders)
	if errs != nil {
		t.Fatalf("parseBody: %v", errs)
	}
	hostile := "x\",\"admin\":true,\"y\":\"\n::add-mask::"
	got, err := json.Marshal(fill(body, values{phName: hostile, phScopes: []string{"a", "b"}, "expiry:days": int64(2)}))
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name":   hostile,
		"label":  "made by " + hostile + " for a,b",
		"scopes": []any{"a", "b"},
		"exp":    float64(2),
		"fixed":  true,
		"nested": []any{hostile, float64(3)},
	}
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestLoad_Paths(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(ws, ".github"), 0o755))
	must(os.WriteFile(filepath.Join(ws, ".github", "p.yaml"), []byte(minimal), 0o644))
	must(os.WriteFile(filepath.Join(outside, "p.yaml"), []byte(minimal), 0o644))
	must(os.Symlink(filepath.Join(outside, "p.yaml"), filepath.Join(ws, "link.yaml")))
	must(os.WriteFile(filepath.Join(ws, "big.yaml"), []byte(strings.Repeat("#", maxProfileSize+1)), 0o644))
	cases := []struct {
		name string
		cfg  string
		want []string
	}{
		{name: "relative", cfg: ".github/p.yaml"},
		{name: "absolute_inside", cfg: filepath.Join(ws, ".github", "p.yaml")},
		{name: "inline_yaml", cfg: minimal},
		{name: "inline_json_one_line", cfg: `{"base_url":"https://x.example","auth":{"header":"A","value":"{{admin_key}}"},"create":{"path":"/k","body":{"n":"{{name}}"},"expiry":"none","response":{"id":"/id","secret":"/s"}},"revoke":{"path":"/k/{{id}}"}}`},
		{name: "missing", cfg: "nope.yaml", want: []string{"the profile file does not exist in the workspace"}},
		{name: "dotdot", cfg: "../p.yaml", want: []string{`must be a path inside the workspace (no ".." out of it)`}},
		{name: "absolute_outside", cfg: filepath.Join(outside, "p.yaml"), want: []string{`must be a path inside the workspace (no ".." out of it)`}},
		{name: "symlink_out", cfg: "link.yaml", want: []string{"the profile file cannot be opened inside the workspace (a path or link leading out of it is refused)"}},
		{name: "too_big", cfg: "big.yaml", want: []string{"the profile file is larger than 64 KiB"}},
		{name: "empty", cfg: " ", want: []string{"is required by the rest provider: a path in the workspace to a YAML or JSON profile, or the profile inline"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(provider.Options{ProviderConfig: tc.cfg, Workspace: ws})
			if diff := cmp.Diff(tc.want, rules(err)); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			var ie *inputerr.Error
			if err != nil && !errors.As(err, &ie) {
				t.Errorf("error %v is not an input error", err)
			}
		})
	}
}

func TestShippedProfiles_Parse(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "profiles", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped profiles found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(data); err != nil {
				t.Errorf("Parse: %v", err)
			}
		})
	}
}
