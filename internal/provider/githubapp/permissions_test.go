package githubapp_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider/githubapp"
)

// extract is the committed copy of GitHub's app-permissions schemas and of
// create-github-app-token v3.1.1's permission-* inputs, read here on its
// own (not through the generator) so the table is held against it.
type extract struct {
	Source struct {
		Package, Version string
	} `json:"source"`
	Descriptions map[string]struct {
		Properties map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
	} `json:"descriptions"`
	CGAT struct {
		Version string            `json:"version"`
		Inputs  map[string]string `json:"inputs"`
	} `json:"create-github-app-token"`
}

func readExtract(t *testing.T) extract {
	t.Helper()
	data, err := os.ReadFile("testdata/app-permissions.json")
	if err != nil {
		t.Fatal(err)
	}
	var x extract
	if err := json.Unmarshal(data, &x); err != nil {
		t.Fatal(err)
	}
	if x.Source.Package != "@octokit/openapi" || x.Source.Version == "" || x.CGAT.Version != "v3.1.1" || len(x.CGAT.Inputs) == 0 {
		t.Fatalf("extract has no source: %+v", x.Source)
	}
	return x
}

// TestPermissionTable_MatchesGitHubDescription: every name of every
// description is in the table with exactly the union of its enums, and the
// table has nothing else but create-github-app-token's undocumented inputs.
func TestPermissionTable_MatchesGitHubDescription(t *testing.T) {
	t.Parallel()
	x := readExtract(t)
	want := map[string][]string{}
	cloud, ghes := map[string]bool{}, map[string]bool{}
	for d, s := range x.Descriptions {
		for name, p := range s.Properties {
			for _, lv := range p.Enum {
				if !slices.Contains(want[name], lv) {
					want[name] = append(want[name], lv)
				}
			}
			if strings.HasPrefix(d, "ghes-") {
				ghes[name] = true
			} else {
				cloud[name] = true
			}
		}
	}
	got := map[string][]string{}
	for _, p := range githubapp.PermissionTable() {
		if p.Undocumented {
			if _, ok := want[p.Name]; ok {
				t.Errorf("%s is marked undocumented but a description has it", p.Name)
			}
			if _, ok := x.CGAT.Inputs[p.InputName()]; !ok {
				t.Errorf("%s is undocumented and no create-github-app-token input either", p.Name)
			}
			continue
		}
		got[p.Name] = p.Levels
		if p.Cloud != cloud[p.Name] || p.GHES != ghes[p.Name] {
			t.Errorf("%s: cloud %v ghes %v, want %v %v", p.Name, p.Cloud, p.GHES, cloud[p.Name], ghes[p.Name])
		}
	}
	for name := range want {
		sort.Slice(want[name], func(i, j int) bool { return githubapp.LevelRank(want[name][i]) < githubapp.LevelRank(want[name][j]) })
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("table vs GitHub's description (-want +got):\n%s", diff)
	}
	// Every documented level is accepted, every other level refused.
	for name, levels := range want {
		for _, lv := range githubapp.Levels {
			_, err := githubapp.ParsePermissions(name + ":" + lv)
			if ok := slices.Contains(levels, lv); ok != (err == nil) {
				t.Errorf("ParsePermissions(%s:%s) = %v, want accepted %v", name, lv, err, ok)
			}
		}
	}
}

// TestResolveAliases_EveryCGATInput: each permission-* input of
// create-github-app-token v3.1.1, at each level its description states,
// becomes that permission in the request (names GHES alone documents are
// exercised with a GHES base in TestValidatePermissionsFor_GHESOnly).
func TestResolveAliases_EveryCGATInput(t *testing.T) {
	t.Parallel()
	x := readExtract(t)
	declared := map[string]bool{}
	for _, in := range githubapp.ActionInputs() {
		declared[in.Name] = true
	}
	for input, desc := range x.CGAT.Inputs {
		if !declared[input] {
			t.Errorf("create-github-app-token input %s is not declared", input)
		}
		i := strings.Index(desc, "Can be set to ")
		if i < 0 {
			t.Fatalf("%s: no levels in %q", input, desc)
		}
		name := strings.ReplaceAll(strings.TrimPrefix(input, "permission-"), "-", "_")
		for _, lv := range []string{"read", "write", "admin"} {
			if !strings.Contains(desc[i:], "'"+lv+"'") {
				continue
			}
			a, err := githubapp.ResolveAliases(func(n string) string {
				if n == input {
					return lv
				}
				return ""
			})
			if err != nil {
				t.Errorf("%s: %s refused: %v", input, lv, err)
				continue
			}
			if diff := cmp.Diff(map[string]string{name: lv}, a.Permissions); diff != "" {
				t.Errorf("%s: %s permissions (-want +got):\n%s", input, lv, diff)
			}
			if err := githubapp.ValidatePermissionsFor("https://api.github.com", a.Permissions); err != nil {
				t.Errorf("%s: %s refused for api.github.com: %v", input, lv, err)
			}
		}
	}
}

func TestValidatePermissionsFor_GHESOnly(t *testing.T) {
	t.Parallel()
	var ghesOnly []string
	for _, p := range githubapp.PermissionTable() {
		if p.GHESOnly() {
			ghesOnly = append(ghesOnly, p.Name)
		}
	}
	if len(ghesOnly) == 0 {
		t.Fatal("no GHES-only permission in the table: the test proves nothing")
	}
	for _, name := range ghesOnly {
		m := map[string]string{name: "read"}
		for base, ok := range map[string]bool{
			"https://ghes.example.com/api/v3":  true,
			"https://ghes.example.com/api/v3/": true,
			"http://127.0.0.1:8080/api/v3":     true,
			"https://api.github.com":           false,
			"":                                 false,
			"https://api.octo.ghe.com":         false,
			"https://ghes.example.com":         true,
			"http://127.0.0.1:8080":            false,
			"http://127.0.0.1:8080/github":     false,
		} {
			err := githubapp.ValidatePermissionsFor(base, m)
			if (err == nil) != ok {
				t.Errorf("ValidatePermissionsFor(%q, %s) = %v, want accepted %v", base, name, err, ok)
			}
			var ie *inputerr.Error
			if err != nil && (!errors.As(err, &ie) || ie.Input != "permissions" || !strings.Contains(err.Error(), "GitHub Enterprise Server")) {
				t.Errorf("error %v does not name permissions and GHES", err)
			}
		}
	}
}

func TestCheckPermissionInputs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		inputs    []string
		wantInput []string
		wantText  string
	}{
		{name: "known", inputs: []string{"permission-issues", "permission-team-discussions", "permission-merge-queues"}},
		{name: "typo", inputs: []string{"permission-isues"}, wantInput: []string{"permission-isues"}, wantText: "did you mean permission-issues?"},
		{name: "underscore_spelling", inputs: []string{"permission-pull_requests"}, wantInput: []string{"permission-pull_requests"}, wantText: "did you mean permission-pull-requests?"},
		{name: "unknown_far", inputs: []string{"permission-frobnicate"}, wantInput: []string{"permission-frobnicate"}, wantText: "docs/github-app.md"},
		{name: "upper_case_env_spelling", inputs: []string{"PERMISSION-CONTENTS"}},
		{name: "hostile_name_not_echoed", inputs: []string{"permission-::stop-commands::x"}, wantInput: []string{"permission-*"}},
		{name: "every_one_reported", inputs: []string{"permission-a1", "permission-b2"}, wantInput: []string{"permission-a1", "permission-b2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := githubapp.CheckPermissionInputs(tc.inputs)
			if diff := cmp.Diff(tc.wantInput, inputs(t, err)); diff != "" {
				t.Fatalf("inputs (-want +got):\n%s", diff)
			}
			if err != nil && !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q lacks %q", err, tc.wantText)
			}
			if err != nil && strings.Contains(err.Error(), "::") {
				t.Errorf("error echoes a workflow command: %q", err)
			}
		})
	}
}

func TestParsePermissions_DocumentedNamesTodayRefusedBefore(t *testing.T) {
	t.Parallel()
	// The names the issue found refused although GitHub documents them,
	// and the level it found refused.
	for _, in := range []string{"discussions:write", "merge_queues:write", "attestations:read", "artifact_metadata:read",
		"code_quality:read", "organization_copilot_agent_settings:read", "organization_copilot_seat_management:read"} {
		if _, err := githubapp.ParsePermissions(in); err != nil {
			t.Errorf("ParsePermissions(%s) = %v", in, err)
		}
	}
	_, err := githubapp.ParsePermissions("isues:write")
	if err == nil || !strings.Contains(err.Error(), "did you mean issues?") {
		t.Errorf("typo error = %v", err)
	}
}

func TestWarnUndocumented(t *testing.T) {
	t.Parallel()
	var got []string
	warnf := func(f string, a ...any) { got = append(got, fmt.Sprintf(f, a...)) }
	githubapp.WarnUndocumented(warnf, map[string]string{"team_discussions": "read", "contents": "read"})
	if len(got) != 1 || !strings.Contains(got[0], "team_discussions") || !strings.Contains(got[0], "not in GitHub's REST description") {
		t.Fatalf("warnings = %q, want one naming team_discussions", got)
	}
	got = nil
	githubapp.WarnUndocumented(warnf, map[string]string{"contents": "read"})
	if len(got) != 0 {
		t.Fatalf("documented permission warned: %q", got)
	}
}

// TestDocs_PermissionList keeps docs/github-app.md's list equal to the
// table.
func TestDocs_PermissionList(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../../docs/github-app.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	const start, end = "<!-- permissions:start -->\n", "<!-- permissions:end -->"
	i, j := strings.Index(doc, start), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatal("docs/github-app.md has no permissions section")
	}
	if got, want := doc[i+len(start):j], githubapp.PermissionsMarkdown(); got != want {
		t.Errorf("docs/github-app.md's permission list differs from the table; replace it with:\n%s", want)
	}
}
