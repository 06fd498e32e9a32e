package relay

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// configFields lists the Field of every *ConfigError in err.
func configFields(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *ConfigError
		if errors.As(e, &ce) {
			out = append(out, ce.Field)
		}
	}
	walk(err)
	return out
}

func TestParseRoutes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		yaml       string
		wantFields []string
		want       map[string][]Target
	}{
		{
			name: "example_from_the_issue",
			yaml: "routes:\n  - events: [token.expiring, token.rotated]\n    repositories: [octo/app, octo/api]\n    event_type: tooken.{event}\n",
			want: map[string][]Target{
				"token.expiring": {{"octo", "app", "tooken.token.expiring"}, {"octo", "api", "tooken.token.expiring"}},
				"token.rotated":  {{"octo", "app", "tooken.token.rotated"}, {"octo", "api", "tooken.token.rotated"}},
			},
		},
		{
			name: "default_event_type_and_fixed_one",
			yaml: "routes:\n  - events: [token.revoked]\n    repositories: [o/r]\n  - events: [token.expired]\n    repositories: [o/r.go]\n    event_type: rotate-now\n",
			want: map[string][]Target{
				"token.revoked": {{"o", "r", "tooken.token.revoked"}},
				"token.expired": {{"o", "r.go", "rotate-now"}},
			},
		},
		{
			name: "json_is_yaml",
			yaml: `{"routes":[{"events":["token.used"],"repositories":["a/b"]}]}`,
			want: map[string][]Target{"token.used": {{"a", "b", "tooken.token.used"}}},
		},
		{name: "empty_file", yaml: "", wantFields: []string{"routes"}},
		{name: "no_routes", yaml: "routes: []\n", wantFields: []string{"routes"}},
		{name: "unknown_field", yaml: "routes:\n  - events: [token.used]\n    repos: [a/b]\n", wantFields: []string{"config"}},
		{name: "not_yaml", yaml: "routes: [", wantFields: []string{"config"}},
		{
			name:       "every_problem_at_once",
			yaml:       "routes:\n  - events: [token.used, token.exploded]\n    repositories: [nope, a/b, a/b/c, -x/y]\n  - events: []\n    repositories: []\n",
			wantFields: []string{"routes[0].events[1]", "routes[0].repositories[0]", "routes[0].repositories[2]", "routes[0].repositories[3]", "routes[1].events", "routes[1].repositories"},
		},
		{
			name:       "duplicate_event_and_repo_across_routes",
			yaml:       "routes:\n  - events: [token.expiring]\n    repositories: [Octo/App]\n  - events: [token.expiring]\n    repositories: [octo/app]\n",
			wantFields: []string{"routes[1].repositories[0]"},
		},
		{
			name:       "event_type_too_long",
			yaml:       "routes:\n  - events: [token.used]\n    repositories: [a/b]\n    event_type: " + strings.Repeat("x", 95) + "{event}\n",
			wantFields: []string{"routes[0].event_type"},
		},
		{
			name:       "event_type_bad_characters",
			yaml:       "routes:\n  - events: [token.used]\n    repositories: [a/b]\n    event_type: \"tooken {event}\"\n",
			wantFields: []string{"routes[0].event_type"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := ParseRoutes([]byte(tc.yaml))
			if tc.wantFields != nil {
				if err == nil {
					t.Fatal("ParseRoutes succeeded, want an error")
				}
				got := configFields(err)
				sort.Strings(got)
				want := append([]string(nil), tc.wantFields...)
				sort.Strings(want)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("fields (-want +got):\n%s\nerror: %v", diff, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRoutes: %v", err)
			}
			if diff := cmp.Diff(tc.want, r.Targets()); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadRoutesFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(good, []byte(testRoutesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", maxConfigSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		path      string
		wantErr   bool
		wantField string
	}{
		{name: "good", path: good},
		{name: "missing", path: filepath.Join(dir, "nope.yaml"), wantErr: true},
		{name: "too_big", path: big, wantErr: true, wantField: "config"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadRoutesFile(tc.path)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantField != "" {
				if diff := cmp.Diff([]string{tc.wantField}, configFields(err)); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
			}
		})
	}
}
