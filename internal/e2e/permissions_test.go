package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake/ghapp"
)

// cgatInputs reads create-github-app-token v3.1.1's permission-* inputs
// from the committed extract of its action.yml: input → the highest level
// its description allows.
func cgatInputs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "provider", "githubapp", "testdata", "app-permissions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var x struct {
		CGAT struct {
			Version string            `json:"version"`
			Inputs  map[string]string `json:"inputs"`
		} `json:"create-github-app-token"`
	}
	if err := json.Unmarshal(data, &x); err != nil {
		t.Fatal(err)
	}
	if x.CGAT.Version != "v3.1.1" || len(x.CGAT.Inputs) < 50 {
		t.Fatalf("extract holds %d inputs of %q", len(x.CGAT.Inputs), x.CGAT.Version)
	}
	out := map[string]string{}
	for in, desc := range x.CGAT.Inputs {
		levels := desc[strings.Index(desc, "Can be set to "):]
		for _, lv := range []string{"read", "write", "admin"} {
			if strings.Contains(levels, "'"+lv+"'") {
				out[in] = lv
			}
		}
	}
	return out
}

func permName(input string) string {
	return strings.ReplaceAll(strings.TrimPrefix(input, "permission-"), "-", "_")
}

// TestAction_GitHubAppEveryCGATPermissionInput: all permission-* inputs
// create-github-app-token v3.1.1 declares, set at once, reach the
// access-token request body exactly; the one GitHub no longer documents is
// sent with a warning that says so.
func TestAction_GitHubAppEveryCGATPermissionInput(t *testing.T) {
	t.Parallel()
	e, _ := newGHApp(t, "", false)
	inputs := cgatInputs(t)
	granted := map[string]string{}
	extra := map[string]string{"owner": "perm-org", "repositories": "r"}
	for in, lv := range inputs {
		granted[permName(in)] = lv
		extra[in] = lv
	}
	e.fake.AddInstallation(ghapp.Installation{Account: "perm-org", Repositories: []string{"r"}, Permissions: granted})
	j := NewJob(t, e.inputs(extra))
	main := j.Main(t)
	if main.ExitCode != 0 {
		t.Fatalf("main exit %d: %v", main.ExitCode, errorLines(j))
	}
	bodies := e.rec.tokenBodies(t)
	if len(bodies) != 1 {
		t.Fatalf("%d access-token requests, want 1", len(bodies))
	}
	want := map[string]any{}
	for name, lv := range granted {
		want[name] = lv
	}
	if diff := cmp.Diff(want, bodies[0]["permissions"]); diff != "" {
		t.Errorf("permissions sent (-want +got):\n%s", diff)
	}
	var warned []string
	for _, l := range strings.Split(main.Stdout, "\n") {
		if strings.HasPrefix(l, "::warning") {
			warned = append(warned, l)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "team_discussions") || !strings.Contains(warned[0], "not in GitHub's REST description") {
		t.Errorf("want one warning about team_discussions, got %q", warned)
	}
	if post := j.Post(t); post.ExitCode != 0 {
		t.Errorf("post exit %d", post.ExitCode)
	}
	ghappHygiene(t, j, e, e.pem)
}

// TestAction_GitHubAppPermissionInputErrors: a typo, an unknown name, and
// a GHES-only name without a GHES base each fail main with one error
// naming the input, before any request; the GHES-only name is accepted
// with a GHES base.
func TestAction_GitHubAppPermissionInputErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		prefix    string
		inputs    map[string]string
		wantInput string // "" means success
	}{
		{"typo_input", "", map[string]string{"permission-isues": "write"}, "permission-isues"},
		{"typo_alone_never_mints_everything", "", map[string]string{"permission-contens": "read"}, "permission-contens"},
		{"unknown_name_in_permissions", "", map[string]string{"permissions": "contents:read, isues:write"}, "permissions"},
		{"ghes_only_on_github_com", "", map[string]string{"permissions": "enterprise_custom_properties:read"}, "permissions"},
		{"ghes_only_input_on_github_com", "", map[string]string{"permission-enterprise-custom-properties": "read"}, "permissions"},
		{"ghes_only_on_ghes", "/api/v3", map[string]string{"permissions": "enterprise_custom_properties:read"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, _ := newGHApp(t, tc.prefix, false)
			if tc.wantInput == "" {
				e.fake.AddInstallation(ghapp.Installation{Account: "ent-org", Repositories: []string{"r"}, Permissions: map[string]string{"enterprise_custom_properties": "read"}})
				tc.inputs["owner"], tc.inputs["repositories"] = "ent-org", "r"
			}
			j := NewJob(t, e.inputs(tc.inputs))
			j.Context["GITHUB_REPOSITORY"] = "octo-org/alpha"
			main := j.Main(t)
			errs := errorLines(j)
			if tc.wantInput == "" {
				if main.ExitCode != 0 {
					t.Fatalf("main exit %d: %v", main.ExitCode, errs)
				}
				if diff := cmp.Diff([]map[string]any{{"repositories": []any{"r"}, "permissions": map[string]any{"enterprise_custom_properties": "read"}}}, e.rec.tokenBodies(t)); diff != "" {
					t.Errorf("bodies (-want +got):\n%s", diff)
				}
				return
			}
			if main.ExitCode != 1 || len(errs) != 1 || !strings.Contains(errs[0], `input "`+tc.wantInput+`"`) {
				t.Fatalf("exit %d, errors %q; want one error naming %s", main.ExitCode, errs, tc.wantInput)
			}
			if n := len(e.fake.Requests()); n != 0 {
				t.Errorf("%d request(s) sent for a bad input", n)
			}
		})
	}
}
